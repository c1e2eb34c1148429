from umwi_core.redact import REDACTED, redact


def test_known_secret_values_are_replaced() -> None:
    assert redact("token abcd1234 failed", ["abcd1234"]) == f"token {REDACTED} failed"


def test_query_string_and_header_secrets_are_replaced() -> None:
    text = "GET https://x/v1?apikey=AAA&lat=1 {'Authorization': 'Bearer zzz'}"
    cleaned = redact(text)
    assert "AAA" not in cleaned
    assert "zzz" not in cleaned
    assert "lat=1" in cleaned
