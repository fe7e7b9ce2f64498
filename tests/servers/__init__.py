"""Real servers for tests: started on free loopback ports with data in temp dirs.

Each is installed from Debian (or found in the virtualenv) when missing, so a
fresh machine needs nothing done by hand.
"""
