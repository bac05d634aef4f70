"""access-broker from a terminal: request access, wait for approval, then use it with the AWS CLI."""
__version__ = "0.1.0"
