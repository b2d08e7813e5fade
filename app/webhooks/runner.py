"""The background work of webhooks in one process: the sender, and the dispatcher when a
change-log reader is given. ``newsdesk serve`` runs it in each worker (setting
``NEWSDESK_WEBHOOK_SENDER``); ``newsdesk worker`` runs it alone."""

import asyncio
import contextlib
from functools import cached_property

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.webhooks.dispatcher import ChangeReader, Dispatcher
from app.webhooks.sender import Sender, new_client


class WebhookRunner:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        write_sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        read_changes: ChangeReader | None = None,
    ) -> None:
        self.settings = settings
        self.write_sessionmaker = write_sessionmaker
        self.sender = Sender(
            sessionmaker=sessionmaker,
            write_sessionmaker=write_sessionmaker,
            client=lambda: self.client,
            settings=settings,
        )
        self.dispatcher = (
            Dispatcher(
                sessionmaker=sessionmaker,
                write_sessionmaker=write_sessionmaker,
                read_changes=read_changes,
                poll_interval=settings.webhook_poll_interval,
                on_dispatched=self.sender.wake,
            )
            if read_changes is not None
            else None
        )
        self.tasks: list[asyncio.Task[None]] = []

    @cached_property
    def client(self) -> httpx.AsyncClient:
        """Made on first use (its TLS set-up loads the CA bundle, 2 MB a worker): most
        workers never send. Also used by the retry endpoint, whether or not this process
        sends in the background."""
        return new_client()

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self.sender.run(), name="webhook-sender"))
        if self.dispatcher is not None:
            self.tasks.append(asyncio.create_task(self.dispatcher.run(), name="webhook-dispatcher"))

    def wake(self) -> None:
        """Something was committed that may need sending: look now, not at the next poll."""
        self.sender.wake()
        if self.dispatcher is not None:
            self.dispatcher.wake()

    async def close(self) -> None:
        """Stop; an attempt cut short is sent again by any sender once its lock runs out."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        if "client" in self.__dict__:
            await self.client.aclose()
