"""Preview links: the shapes the API reads and writes."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MIN_EXPIRES_IN = 60
MAX_EXPIRES_IN = 604_800  # a week


class PreviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in: int = Field(
        3600,
        ge=MIN_EXPIRES_IN,
        le=MAX_EXPIRES_IN,
        description="Seconds the link works for: 60 to 604800 (a week).",
        examples=[3600],
    )


class PreviewPublic(BaseModel):
    token: str = Field(
        description="The signed token; anyone holding it can read the article until `expires_at`.",
        examples=["O-NcVPbMTRmgGvGYpB3fA2dXlnYAAAAAp9XgN6u0mJqCV1WkTZt7h4Hf8bqYkS0ZQvJkzmI0Qg"],
    )
    url: str = Field(
        description="Where the preview is read, relative to this API's base URL.",
        examples=[
            "/v1/preview/O-NcVPbMTRmgGvGYpB3fA2dXlnYAAAAAp9XgN6u0mJqCV1WkTZt7h4Hf8bqYkS0ZQvJkzmI0Qg"
        ],
    )
    expires_at: datetime = Field(examples=["2024-11-08T19:30:00Z"])
