DROP TABLE claim_failures;
