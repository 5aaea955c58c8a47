"""`/loglevel`: change a logger's level at run time, as mesos/kafka's scheduler allows."""

from __future__ import annotations

import logging
from typing import Any

from kafka_mesos.api.errors import ApiError
from kafka_mesos.api.params import Params, ParamSpec
from kafka_mesos.api.routes import Route

# mesos/kafka's logger names → ours; anything else is taken as a Python logger name.
LOGGER_ALIASES = {
    "root": "",
    "scheduler": "kafka_mesos.scheduler",
    "brokerManager": "kafka_mesos.scheduler",
    "api": "kafka_mesos.api",
    "mesos": "kafka_mesos.mesos",
    "state": "kafka_mesos.state",
}
LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL")


async def set_log_level(params: Params) -> dict[str, Any]:
    name = (params.get("logger") or "root").strip()
    level_text = params.require("level").strip().upper()
    if level_text not in LEVELS:
        raise ApiError(f"invalid level {level_text!r}: one of {', '.join(LEVELS)}", "level")
    level = "WARNING" if level_text == "WARN" else level_text
    logger_name = LOGGER_ALIASES.get(name, name)
    logging.getLogger(logger_name).setLevel(level)
    return {"logger": logger_name or "root", "level": level}


def admin_routes() -> list[Route]:
    params = (
        ParamSpec("logger", "string", "root, scheduler, api, mesos, state or a Python logger name",
                  default="root"),
        ParamSpec("level", "string", "DEBUG, INFO, WARNING, ERROR or CRITICAL", required=True),
    )
    return [Route("/loglevel", "Change a logger's level", params, set_log_level, "admin",
                  {"logger": "kafka_mesos.scheduler", "level": "DEBUG"})]
