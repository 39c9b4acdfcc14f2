"""secrets_app: keeps ECR docker pull Secrets fresh in Kubernetes clusters."""
