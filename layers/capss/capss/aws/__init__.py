"""The only place that imports boto3/botocore: adapters for DynamoDB, S3, SQS, Step
Functions, SNS and Secrets Manager, and each Lambda function's cold-start wiring."""
