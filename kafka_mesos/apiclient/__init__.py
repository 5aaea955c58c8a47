"""Client of kafka-mesos' REST API (used by the CLI and by scripts)."""

from kafka_mesos.apiclient.client import ApiClient, ApiClientError, ApiUnreachable, ParamValue, encode_form

__all__ = ["ApiClient", "ApiClientError", "ApiUnreachable", "ParamValue", "encode_form"]
