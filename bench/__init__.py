"""The YodaSpeak benchmark (`make bench`): API quota spent, in-process overhead and cold start. Not a test."""
