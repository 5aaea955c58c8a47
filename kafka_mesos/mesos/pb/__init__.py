"""Generated protobuf modules of the Mesos v1 API (see ../proto/generate.py)."""
