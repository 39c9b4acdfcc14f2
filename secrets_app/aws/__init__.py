"""The only package that talks to AWS (through boto3). One call: get an ECR authorization token."""
