"""Deployment to AWS: the CloudFormation resources and IAM policies derived from the code, and
the package step (`make package`)."""
