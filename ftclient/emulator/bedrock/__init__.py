"""The AWS Bedrock dialect: S3, the bedrock control plane and bedrock-runtime's Converse on one port."""
