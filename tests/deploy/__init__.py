"""Tests of make package (deploy/): the template, the zip, the IAM policies, the cold start."""
