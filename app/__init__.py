"""Step Desk: a desktop client for StepFun's multimodal reasoning model."""

__version__ = "0.1.0"
