"""The OpenAI API as the emulator speaks it: files, uploads, fine-tuning, chat, moderations, batches."""
