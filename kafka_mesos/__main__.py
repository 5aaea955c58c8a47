"""`python -m kafka_mesos` runs the command line."""

from kafka_mesos.cli.main import main

if __name__ == "__main__":
    main()
