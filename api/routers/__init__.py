"""One router per resource."""

from api.routers import generate, health, jobs, metrics, sign, softbinding, verify, watermark

__all__ = ["generate", "health", "jobs", "metrics", "sign", "softbinding", "verify", "watermark"]
