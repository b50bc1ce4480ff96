"""SMS through an HTTP gateway: one JSON POST per message, for operators and aggregators without SMPP.

Request body: `{"to": "+98912...", "from": "NavidBank", "text": "...", "reference": "<idempotency key>",
"encoding": "gsm7" | "ucs2", "parts": n}` with `Authorization: Bearer <token>` when a token is set. A 2xx answer
carries `{"id": "<gateway message id>"}`; 400, 404 and 422 mean the number or the message is wrong (permanent);
429 and 5xx are temporary, and so is a refused connection (nothing was sent). The reference lets a gateway
that deduplicates do so.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence

from navid.channels.base import Outgoing, SendResult
from navid.channels.hooks import CommitEnd, CommitPoint, Halt, commit_all, commit_end_nothing
from navid.channels.sms import DATA_CODING_UCS2, sms_parts

PERMANENT_HTTP = {400, 404, 410, 422}


class HttpSmsAdapter:
    """Posts each message to the gateway URL."""

    channel = "sms"

    def __init__(
        self,
        *,
        url: str,
        token: str = "",
        timeout: float = 10.0,
        commit_point: CommitPoint = commit_all,
        commit_end: CommitEnd = commit_end_nothing,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the SMS gateway URL must start with http:// or https://, not {url!r}")
        self.url, self.token, self.timeout = url, token, timeout
        self.commit_point, self.commit_end = commit_point, commit_end

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        """Post the messages one by one."""
        results: list[SendResult] = []
        for index, message in enumerate(messages):
            encoded = sms_parts(message.text)
            try:
                allowed = self.commit_point([message.key])
                # An HTTP request cannot be split before its last byte: the record is made final before the
                # request, so a crash in between loses the message rather than sending it twice.
                self.commit_end()
            except Halt:
                results += [
                    SendResult(key=m.key, ok=False, error="not sent: sending halted")
                    for m in messages[index:]
                ]
                break
            if message.key not in allowed:
                results.append(
                    SendResult(key=message.key, ok=False, error="not sent: no longer held by this sender")
                )
                continue
            try:
                results.append(self._post(message, len(encoded.parts), encoded.data_coding))
            except ConnectionRefusedError:
                # Nothing reached the gateway: this message and the rest are simply not sent yet. No exception:
                # this message has passed its commit point, and its result must reach the sender.
                error = f"SMS gateway {self.url} refused the connection"
                results += [SendResult(key=m.key, ok=False, error=error) for m in messages[index:]]
                break
        return results

    def _post(self, message: Outgoing, parts: int, data_coding: int) -> SendResult:
        payload = {
            "to": message.to,
            "from": message.sender,
            "text": message.text,
            "reference": message.key,
            "encoding": "ucs2" if data_coding == DATA_CODING_UCS2 else "gsm7",
            "parts": parts,
        }
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode("utf-8", "replace")
            return SendResult(
                key=message.key,
                ok=False,
                permanent=exc.code in PERMANENT_HTTP,
                error=f"gateway answered {exc.code}: {detail}"[:500],
                parts=parts,
            )
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ConnectionRefusedError):
                raise reason from exc
            # The request may have reached the gateway: counted as sent, so that it can never go twice.
            return SendResult(
                key=message.key,
                ok=True,
                error=f"gateway did not answer; counted as sent: {reason}"[:500],
                parts=parts,
            )
        try:
            provider_id = str(json.loads(body)["id"])
        except (ValueError, KeyError, TypeError):
            return SendResult(
                key=message.key,
                ok=True,
                error="gateway accepted the message without an id",
                parts=parts,
            )
        return SendResult(key=message.key, ok=True, provider_id=provider_id, parts=parts)

    def close(self) -> None:
        """Nothing is kept open between requests."""
        return None
