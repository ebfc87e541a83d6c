"""Campaign list scrub: upload a CSV, get back a ZIP with the allowed rows, the blocked rows
with their reasons, and a summary. The upload and the results live in a temporary directory
that is deleted before the response is sent; nothing of the list is kept on the server."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from honorbound import i18n
from honorbound.consent.models import ConsentChannel, Purpose
from honorbound.consent.scrub import ScrubError, ScrubResult, scrub
from honorbound.i18n import N_
from honorbound.web.console.words import say
from honorbound.web.forms import shown_again
from honorbound.web.portal.language import chosen
from honorbound.web.rendering import render
from honorbound.web.staff import Staff, staff_form, staff_with

router = APIRouter(include_in_schema=False)
PURPOSES = [p.value for p in Purpose if p is not Purpose.ALL]
CHANNELS = [c.value for c in ConsentChannel if c is not ConsentChannel.ALL]


NO_IDENTITY_COLUMN = N_(
    "The file's first line needs an 'identity' (or 'phone' or 'email') column naming who to "
    "contact."
)


def summary_lines(result: ScrubResult, purpose: str, channel: str, lang: str) -> list[str]:
    """summary.txt in the staff member's language: the counts, and each reason in words with
    its code (the code is what blocked.csv's `reasons` column holds)."""
    _ = i18n.translations(lang).gettext
    return [
        _("Purpose: {purpose}; channel: {channel}").format(
            purpose=say(lang, "purpose", purpose), channel=say(lang, "channel", channel)
        ),
        _("Allowed: {count}").format(count=i18n.format_number(result.allowed, lang)),
        _("Blocked: {count}").format(count=i18n.format_number(result.blocked, lang)),
        *(
            f"  {say(lang, 'decision_reason', name)} ({name}): {i18n.format_number(count, lang)}"
            for name, count in sorted(result.reasons.items())
        ),
        *(_("Warning: {warning}").format(warning=w) for w in result.warnings),
    ]


def _page(request: Request, staff: Staff, status: int = 200, error: str = "") -> Response:
    return render(
        request,
        "console/scrub.html",
        status=status,
        staff=staff,
        section="scrub",
        purposes=PURPOSES,
        channels=CHANNELS,
        error=error,
        max_kb=request.app.state.runtime.settings.max_body_bytes // 1024,
    )


@router.get("/console/scrub", response_class=HTMLResponse)
def scrub_page(
    request: Request, staff: Annotated[Staff, Depends(staff_with("consent.read"))]
) -> Response:
    return _page(request, staff)


@router.post("/console/scrub")
def scrub_list(
    request: Request,
    staff: Annotated[Staff, Depends(staff_form("consent.read"))],
    purpose: Annotated[str, Form(max_length=40)] = "",
    channel: Annotated[str, Form(max_length=10)] = "",
    campaign: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if purpose not in PURPOSES:
        return _page(request, staff, 422, N_("Choose what the campaign is for (its purpose)."))
    if channel not in CHANNELS:
        return _page(
            request, staff, 422, N_("Choose how the campaign reaches people (its channel).")
        )
    if campaign is None or not campaign.filename:
        return _page(request, staff, 422, N_("Choose the CSV file to scrub."))
    content = campaign.file.read()  # a spooled file: this runs in a worker thread
    runtime = request.app.state.runtime
    # The one refusal of a readable file (consent.scrub): its header, in the page's words.
    shown_again(
        request,
        lambda status, error: _page(request, staff, status, error),
        field="campaign",
        kinds=(ScrubError,),
        words={("campaign", 422): NO_IDENTITY_COLUMN},
    )
    with tempfile.TemporaryDirectory(prefix="scrub-") as work:
        source = Path(work) / "list.csv"
        source.write_bytes(content)
        try:
            with runtime.db.session() as session:
                result = scrub(
                    session,
                    runtime.decisions,
                    staff.organization_id,
                    source,
                    purpose,
                    channel,
                    Path(work) / "out",
                )
        except UnicodeDecodeError as exc:
            return _page(
                request,
                staff,
                422,
                N_("Byte {byte} is not UTF-8: save the list as a UTF-8 CSV.", byte=exc.start),
            )
        summary = summary_lines(result, purpose, channel, chosen(request))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(result.allowed_path, "allowed.csv")
            archive.write(result.blocked_path, "blocked.csv")
            archive.writestr("summary.txt", "\n".join(summary) + "\n")
    stem = Path(campaign.filename).stem.replace('"', "")[:60] or "campaign"
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{stem}.scrubbed.zip"',
            "Cache-Control": "no-store",
        },
    )
