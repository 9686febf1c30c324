"""Small commands of the ``fpliif`` command line that belong to no larger module."""
