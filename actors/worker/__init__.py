"""The worker: the agent actor that runs jobs, and the handlers it runs them with."""
