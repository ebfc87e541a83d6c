"""The console's words for the codes it shows (a purpose, a channel, a status, a role): English
source strings, translated where shown (`say` in the templates, honorbound.i18n). The codes
themselves stay as they are in forms, URLs and JSON. The English words of most groups are the
codes with spaces (what the pages always showed); a code without words here shows as
written with its underscores as spaces."""

from __future__ import annotations

from honorbound import i18n
from honorbound.i18n import N_

WORDS: dict[str, dict[str, str]] = {
    "purpose": {
        "all": N_("all"),
        "marketing": N_("marketing"),
        "targeted_advertising": N_("targeted advertising"),
        "sale": N_("sale"),
        "sharing": N_("sharing"),
        "profiling": N_("profiling"),
        "sensitive_data_use": N_("sensitive data use"),
        "call_recording": N_("call recording"),
        "research": N_("research"),
        "service_messages": N_("service messages"),
    },
    "channel": {
        "all": N_("all"),
        "email": N_("email"),
        "sms": N_("sms"),
        "voice": N_("voice"),
        "mail": N_("mail"),
        "fax": N_("fax"),
    },
    "action": {"opt_in": N_("opt-in"), "opt_out": N_("opt-out")},
    "source": {
        "web_form": N_("web form"),
        "sms_keyword": N_("text keyword"),
        "email_one_click": N_("one-click email unsubscribe"),
        "email_link": N_("email link"),
        "agent_verbal": N_("agent, said on a call"),
        "ivr_keypad": N_("phone keypad"),
        "gpc_signal": N_("Global Privacy Control signal"),
        "rights_request": N_("rights request"),
        "phone_call": N_("phone call"),
        "letter": N_("letter"),
        "email": N_("email"),
        "retention": N_("retention rule"),
        "controller_api": N_("client's system"),
        "transcript_intent": N_("said in a conversation"),
        "conversation": N_("conversation"),
        "import": N_("import"),
    },
    "status": {
        "received": N_("received"),
        "verifying": N_("verifying"),
        "held": N_("held"),
        "in_progress": N_("in progress"),
        "partly_done": N_("partly done"),
        "completed": N_("completed"),
        "denied": N_("denied"),
        # outbox messages
        "pending": N_("pending"),
        "sending": N_("sending"),
        "sent": N_("sent"),
        "failed": N_("failed"),
        "erased": N_("erased"),
    },
    "identity": {
        "email": N_("email"),
        "phone": N_("phone"),
        "account_id": N_("account number"),
        "cookie_id": N_("cookie id"),
        "device_id": N_("device id"),
        "external_id": N_("external id"),
    },
    "type": {
        "access_categories": N_("access categories"),
        "access_specific": N_("access specific"),
        "portability": N_("portability"),
        "delete": N_("delete"),
        "correct": N_("correct"),
        "opt_out_sale": N_("opt out sale"),
        "opt_out_sharing": N_("opt out sharing"),
        "opt_out_targeted_advertising": N_("opt out targeted advertising"),
        "opt_out_profiling": N_("opt out profiling"),
        "limit_sensitive": N_("limit sensitive"),
        "appeal": N_("appeal"),
        "shine_the_light": N_("Shine the Light"),
        "opt_out_admt": N_("opt-out of automated decisions"),
        "access_admt": N_("access to automated decisions"),
    },
    "manner": {
        "portal": N_("portal"),
        "phone": N_("phone"),
        "email": N_("email"),
        "mail": N_("mail"),
        "in_person": N_("in person"),
        "authorized_agent": N_("authorized agent"),
        "controller": N_("controller"),
        "chat": N_("chat"),
    },
    "response": {
        "complied": N_("complied"),
        "complied_in_part": N_("complied in part"),
        "denied": N_("denied"),
    },
    "basis": {
        "unverifiable": N_("unverifiable"),
        "exempt": N_("exempt"),
        "not_a_consumer": N_("not a consumer"),
        "fraud": N_("fraud"),
        "excessive": N_("excessive"),
        "other": N_("other"),
    },
    # why a disclosure was lawful (disclosures.models.Basis)
    "disclosure_basis": {
        "service_provider": N_("service provider"),
        "sale": N_("sale"),
        "sharing": N_("sharing"),
        "affiliate": N_("affiliate"),
        "legal_process": N_("legal process"),
        "corporate_transaction": N_("corporate transaction"),
        "consent": N_("consent"),
    },
    # who received it (policy.schema.RecipientType)
    "recipient_type": {
        "processor": N_("processor"),
        "service_provider": N_("service provider"),
        "contractor": N_("contractor"),
        "advertising_partner": N_("advertising partner"),
        "analytics_partner": N_("analytics partner"),
        "affiliate": N_("affiliate"),
        "business_partner": N_("business partner"),
        "authority": N_("authority"),
        "acquirer": N_("acquirer"),
        "authorized_representative": N_("authorized representative"),
        "client": N_("client"),
        "third_party": N_("third party"),
    },
    # how a disclosure left (disclosures.models.Disclosure.channel)
    "disclosure_channel": {"export": N_("export"), "api": N_("API"), "manual": N_("by hand")},
    # a request said in a conversation (intents.models)
    "intent_kind": {"opt_out": N_("opt-out"), "rights_request": N_("rights request")},
    "speaker": {
        "customer": N_("the customer"),
        "agent": N_("the agent"),
        "unknown": N_("not known"),
    },
    # why a said request waits for staff (intents.models.ReviewReason)
    "review_reason": {
        "setting": N_("the organization reviews opt-outs"),
        "unknown_speaker": N_("the speaker is not known"),
        "low_confidence": N_("not sure enough of what was said"),
        "needs_details": N_("a detail is missing"),
    },
    # why a consent decision blocks a contact (consent.decisions.REASONS)
    "decision_reason": {
        "opted_out": N_("opted out"),
        "national_dnc": N_("on the National Do Not Call Registry"),
        "company_dnc": N_("on the organization's do-not-call list"),
        "outside_calling_hours": N_("outside calling hours"),
        "call_cap_reached": N_("call limit reached"),
        "consent_required": N_("needs consent, none recorded"),
        "sensitive_limited": N_("limited the use of sensitive data"),
        "invalid_item": N_("not a usable email address or phone number"),
        "minor": N_("a minor"),
        "bpo_dnc": N_("on the call center's do-not-call list"),
    },
    # why a retention rule's trigger is not enforced (retention.rules.Unenforced)
    "unenforced": {
        "names_no_period": N_(
            "'as long as necessary' names no period; write one in the declaration to have it "
            "enforced"
        ),
        "no_period_given": N_("no period given"),
    },
    # what a retention rule does (retention.rules.Action) and its sweeps' status
    "retention_action": {
        "delete_records": N_("delete records"),
        "erase_subjects": N_("erase subjects"),
        "clear_interaction_part": N_("clear part of interactions"),
        "delete_interactions": N_("delete interactions"),
    },
    "run_status": {"running": N_("running"), "finished": N_("finished"), "failed": N_("failed")},
    # connected systems: a task for a system without an API, a disposal in a system
    "task_action": {
        "access": N_("access"),
        "erasure": N_("erasure"),
    },
    # why an identity reaches nothing in the drift scan (systems.scan.Unreached)
    "unreached": {
        "empty_table": N_("the table is empty"),
        "no_value_sampled": N_("no value in the sampled rows"),
        "not_searched": N_(
            "requests carry this identity, and no connected system is searched by it"
        ),
    },
    "disposal_action": {"delete_rows": N_("delete rows"), "erase_fields": N_("erase fields")},
    "disposal_status": {"pending": N_("pending"), "done": N_("done"), "failed": N_("failed")},
    # a request's step in one connected system
    "step": {
        "pending": N_("pending"),
        "running": N_("running"),
        "done": N_("done"),
        "failed": N_("failed"),
        "waiting": N_("waiting"),
        "task_open": N_("task open"),
    },
    "step_action": {
        "delete": N_("delete"),
        "export": N_("export"),
        "correct": N_("correct"),
        "suppress": N_("suppress"),
        "access": N_("access"),
    },
    # what happened to a request (its timeline)
    "event": {
        "received": N_("received"),
        "agent_confirmed": N_("agent confirmed"),
        "agent_permission_viewed": N_("agent permission viewed"),
        "appeal_reason_viewed": N_("appeal reason viewed"),
        "appealed": N_("appealed"),
        "assigned": N_("assigned"),
        "code_sent": N_("code sent"),
        "completed": N_("completed"),
        "consent_recorded": N_("consent recorded"),
        "denied": N_("denied"),
        "disclosures_listed": N_("disclosures listed"),
        "duplicate_merged": N_("duplicate merged"),
        "executed": N_("executed"),
        "extended": N_("extended"),
        "handled_as_categories": N_("handled as categories"),
        "held": N_("held"),
        "package_downloaded": N_("package downloaded"),
        "package_downloaded_by_staff": N_("package downloaded by staff"),
        "package_link_sent": N_("package link sent"),
        "partly_done": N_("partly done"),
        "records_corrected": N_("records corrected"),
        "released": N_("released"),
        "reminder": N_("reminder"),
        "reopened": N_("reopened"),
        "said_in_conversation": N_("said in conversation"),
        "status_viewed": N_("status viewed"),
        "step_completed_manually": N_("step completed manually"),
        "step_retried": N_("step retried"),
        "subject_erased": N_("subject erased"),
        "system_failed": N_("system failed"),
        "system_task_done": N_("system task done"),
        "system_task_opened": N_("system task opened"),
        "system_waiting": N_("system waiting"),
        "verification_incomplete": N_("verification incomplete"),
        "verified": N_("verified"),
        "verified_by_controller": N_("verified by controller"),
        "verified_manually": N_("verified manually"),
        "upheld": N_("upheld"),
        "appeal_granted": N_("appeal granted"),
    },
    # what a console page did not find
    "thing": {
        "action": N_("action"),
        "client": N_("client"),
        "disposal certificate": N_("disposal certificate"),
        "incident": N_("incident"),
        "member": N_("member"),
        "message": N_("message"),
        "offboarding": N_("offboarding"),
        "policy version": N_("policy version"),
        "request": N_("request"),
        "step": N_("step"),
        "subject": N_("subject"),
        "year": N_("year"),
    },
    # why a do-not-call request is taken off a list (consent.dnc.RemovalReason)
    "dnc_removal": {
        "recorded_in_error": N_("recorded by mistake"),
        "duplicate": N_("recorded twice"),
        "written_consent": N_("the person agreed in writing to be called"),
    },
    # a client organization of a BPO (bpo.desk / bpo.clients)
    "client_state": {
        "active": N_("active"),
        "disabled": N_("disabled"),
        "offboarded": N_("offboarded"),
    },
    # a breach incident (breach.models.IncidentStatus)
    "incident": {
        "open": N_("open"),
        "contained": N_("contained"),
        "notifying": N_("notifying"),
        "closed": N_("closed"),
    },
    # what a breach incident relies on (breach.confirmation.Check.kind)
    "check": {
        "deadline": N_("deadline"),
        "notice_content": N_("notice content"),
        "contact": N_("agency contact"),
        "form": N_("regulator form"),
    },
    # whether a law or an obligation applies (policy.applicability.Status)
    "applicability": {
        "applies": N_("applies"),
        "may_apply": N_("may apply"),
        "does_not_apply": N_("does not apply"),
    },
    # the CCPA request metrics (rights.metrics.COLUMNS; the CSV keeps the codes)
    "metric": {
        "request_type": N_("Request type"),
        "received": N_("Number received"),
        "complied_in_whole_or_part": N_("Complied in whole or in part"),
        "denied": N_("Denied"),
        "denied_unverifiable": N_("Denied: unverifiable"),
        "denied_not_a_consumer": N_("Denied: not a consumer"),
        "denied_exempt": N_("Denied: exempt"),
        "denied_other": N_("Denied: other"),
        "median_days": N_("Median days"),
        "mean_days": N_("Mean days"),
    },
    # the request types the metrics count (us-rules.yaml, california.metrics.request_types)
    "metric_type": {
        "delete": N_("delete"),
        "correct": N_("correct"),
        "know": N_("know"),
        "opt_out": N_("opt-out"),
        "limit": N_("limit"),
        "opt_out_admt": N_("opt-out of automated decisions"),
        "access_admt": N_("access to automated decisions"),
    },
    "role": {
        "admin": N_("admin"),
        "privacy_officer": N_("privacy officer"),
        "agent": N_("agent"),
        "auditor": N_("auditor"),
        "client": N_("client"),
    },
}


def say(lang: str, group: str, code: object) -> str:
    """The words for `code` of `group` in `lang`."""
    text = str(getattr(code, "value", code))
    words = WORDS.get(group, {}).get(text)
    return i18n.gettext(lang, words) if words else text.replace("_", " ")
