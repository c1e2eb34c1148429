from umwi.cli import main

main()
