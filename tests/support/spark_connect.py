"""Start and stop a Spark Connect server (the one in pyspark's own jars) on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import reserved_port
from tests.support.process_group import stop_process_group

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT_S = 240


def _spark_submit() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-submit"


@contextmanager
def spark_connect_server(work_dir: Path, *, memory: str = "1g") -> Iterator[str]:
    """A Spark Connect server in local mode, offline; yields its `sc://` URL.

    Everything the server writes (warehouse, Derby, scratch, its log) stays in `work_dir`;
    it binds 127.0.0.1 only, and takes no other port than the reserved one.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / "server.log"
    with reserved_port() as port, log.open("wb") as sink:
        confs = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(port),
            "spark.port.maxRetries": "0",  # never fall back to the next port
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": "false",
            "spark.driver.memory": memory,
            "spark.sql.shuffle.partitions": "4",
            "spark.sql.adaptive.coalescePartitions.parallelismFirst": "false",
            "spark.local.dir": str(work_dir / "scratch"),
            "spark.sql.warehouse.dir": str(work_dir / "warehouse"),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={work_dir / 'derby'}",
        }
        command = [str(_spark_submit()), "--class", SERVER_CLASS, "--master", "local[2]"]
        for key, value in confs.items():
            command += ["--conf", f"{key}={value}"]
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=work_dir,
            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
            start_new_session=True,  # spark-submit's scripts and the JVM stop together
        )
        try:
            _wait_until_up(log, f"Spark Connect server started at: 127.0.0.1:{port}", process)
        except BaseException:
            _stop(process)
            raise
    try:
        yield f"sc://127.0.0.1:{port}"
    finally:
        _stop(process)


def _wait_until_up(log: Path, started: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while started not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2_000:]
            raise RuntimeError(f"the Spark Connect server did not start:\n{tail}")
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    stop_process_group(process, timeout_s=30)
