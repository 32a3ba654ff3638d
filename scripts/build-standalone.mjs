// Placeholder until the self-contained CLI build lands (issue 9, Jenkins shim): nothing to build yet.
