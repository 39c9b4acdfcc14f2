"""The managed docker Secrets: what each should contain, and which ones a pull secret manages."""
