"""AWS adapters: IAM grants, secrets, console links. Every run-time AWS client is built by clients.py."""
