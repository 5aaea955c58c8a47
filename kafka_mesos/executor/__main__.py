import sys

from kafka_mesos.executor.main import main

sys.exit(main())
