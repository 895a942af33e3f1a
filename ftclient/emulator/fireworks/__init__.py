"""The Fireworks AI dialect of the emulator: datasets, SFT and DPO jobs, deployments with LoRA addons, chat."""
