"""The Azure OpenAI dialect of the emulator: the data plane under ``/openai/...``, the management plane
under ``/subscriptions/...``, on one port."""
