"""Storage: one DynamoDB table through pynamodb. Conditions live here and become domain errors at this boundary."""
