"""Trygg's end-to-end encryption protocol (see PROTOCOL.md); web/static/js/protocol.js is its twin.

The names below are the whole public API; everything else is an implementation detail.
"""

from .backup import (
    export_admin_backup,
    export_staff_backup,
    import_admin_backup,
    import_staff_backup,
)
from .certificates import (
    Certificate,
    Directory,
    certify,
    certify_public,
    sign_directory,
    verify_certificate,
    verify_directory,
)
from .constants import (
    LIVE_SKEW,
    MAX_CLOCK_SKEW,
    MAX_ITERATIONS,
    MIN_ITERATIONS,
    ContentType,
    ObjectType,
    Role,
)
from .conversation import Conversation, Live, MemberInfo, MessageKind, Received, open_conversation
from .encoding import b64decode, b64encode
from .errors import ErrorCode, ProtocolError
from .fingerprint import conversation_code, fingerprint, safety_number
from .identity import AdminKey, LocalMember, create_staff_identity, generate_admin_key
from .log import (
    LogHead,
    LogKind,
    entry_of,
    log_chain,
    log_head_hash,
    sign_log_head,
    verify_log_consistency,
    verify_log_head,
    verify_log_inclusion,
)
from .messages import encode_add_proposal, encode_remove_proposal, parse_proposal
from .recovery import generate_recovery_phrase, parse_recovery_phrase
from .resume import (
    ResumeKeys,
    derive_resume_keys,
    format_resume_code,
    generate_resume_code,
    parse_resume_code,
)
from .trust import (
    RootVersion,
    TrustRoot,
    centre_fingerprint,
    cosign_trust_root,
    draft_trust_root,
    short_centre_fingerprint,
    verify_trust_root,
)
from .visitor import (
    Created,
    VisitorState,
    create_conversation,
    export_visitor_state,
    import_visitor_state,
    resume_conversation,
)
from .wire import (
    MemberKeys,
    Routing,
    check_claimed_time,
    check_listed_members,
    peek,
    verify_sender_signature,
)

__all__ = [
    "LIVE_SKEW",
    "MAX_CLOCK_SKEW",
    "MAX_ITERATIONS",
    "MIN_ITERATIONS",
    "AdminKey",
    "Certificate",
    "ContentType",
    "Conversation",
    "Created",
    "Directory",
    "ErrorCode",
    "Live",
    "LocalMember",
    "LogHead",
    "LogKind",
    "MemberInfo",
    "MemberKeys",
    "MessageKind",
    "ObjectType",
    "ProtocolError",
    "Received",
    "ResumeKeys",
    "Role",
    "RootVersion",
    "Routing",
    "TrustRoot",
    "VisitorState",
    "b64decode",
    "b64encode",
    "centre_fingerprint",
    "certify",
    "certify_public",
    "check_claimed_time",
    "check_listed_members",
    "conversation_code",
    "cosign_trust_root",
    "create_conversation",
    "create_staff_identity",
    "derive_resume_keys",
    "draft_trust_root",
    "encode_add_proposal",
    "encode_remove_proposal",
    "entry_of",
    "export_admin_backup",
    "export_staff_backup",
    "export_visitor_state",
    "fingerprint",
    "format_resume_code",
    "generate_admin_key",
    "generate_recovery_phrase",
    "generate_resume_code",
    "import_admin_backup",
    "import_staff_backup",
    "import_visitor_state",
    "log_chain",
    "log_head_hash",
    "open_conversation",
    "parse_proposal",
    "parse_recovery_phrase",
    "parse_resume_code",
    "peek",
    "resume_conversation",
    "safety_number",
    "short_centre_fingerprint",
    "sign_directory",
    "sign_log_head",
    "verify_certificate",
    "verify_directory",
    "verify_log_consistency",
    "verify_log_head",
    "verify_log_inclusion",
    "verify_sender_signature",
    "verify_trust_root",
]
