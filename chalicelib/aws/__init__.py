"""AWS adapters: IAM grants and console links. Only modules here (and store/) import boto3."""
