"""The request protocols of authorized agents and client controllers.

- `drp`: Data Rights Protocol 1.0 (Consumer Reports): authorized agents send signed requests.
- `opendsr`: OpenDSR 2.0: a client controller's platform pushes requests to the BPO.
- `forwarding`: a consumer's request that reaches the BPO about a client goes to the controller.
- `report`: status callbacks and completion notices, sent when a request changes.
- `urls`: callback addresses, checked so a callback cannot reach the BPO's private network.

Constants (versions, paths, statuses) come from `data/protocols.yaml` (`rules.load`).
"""

REPORT_JOB = "protocols.report"
