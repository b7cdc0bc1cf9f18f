"""Alerts: rules over the store (an outflow finding, a state of health under a threshold, a grading safety
flag) whose firings are stored once each and delivered as a signed webhook or an e-mail-ready message.

:mod:`.rules` (what fires, free of I/O), :mod:`.delivery` (signing, posting with retries, the e-mail message),
:mod:`.service` (the use cases on the store: not imported here). See docs/alerts.md.
"""

from .delivery import SIGNATURE_HEADER, Outcome, email_message, post_webhook, signature, verify
from .rules import KINDS, Firing, PackFacts, RuleIn, parse_rule

__all__ = ["KINDS", "SIGNATURE_HEADER", "Firing", "Outcome", "PackFacts", "RuleIn", "email_message", "parse_rule",
           "post_webhook", "signature", "verify"]
