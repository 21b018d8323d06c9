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
from .constants import MIN_ITERATIONS, ContentType, ObjectType, Role
from .conversation import Conversation, MemberInfo, MessageKind, Received, open_conversation
from .encoding import b64decode, b64encode
from .errors import ErrorCode, ProtocolError
from .fingerprint import fingerprint, safety_number
from .identity import AdminKey, LocalMember, create_staff_identity, generate_admin_key
from .messages import encode_add_proposal, encode_remove_proposal, parse_proposal
from .resume import (
    ResumeKeys,
    derive_resume_keys,
    format_resume_code,
    generate_resume_code,
    parse_resume_code,
)
from .visitor import (
    Created,
    VisitorState,
    create_conversation,
    export_visitor_state,
    import_visitor_state,
    resume_conversation,
)
from .wire import Routing, peek

__all__ = [
    "MIN_ITERATIONS",
    "AdminKey",
    "Certificate",
    "ContentType",
    "Conversation",
    "Created",
    "Directory",
    "ErrorCode",
    "LocalMember",
    "MemberInfo",
    "MessageKind",
    "ObjectType",
    "ProtocolError",
    "Received",
    "ResumeKeys",
    "Role",
    "Routing",
    "VisitorState",
    "b64decode",
    "b64encode",
    "certify",
    "certify_public",
    "create_conversation",
    "create_staff_identity",
    "derive_resume_keys",
    "encode_add_proposal",
    "encode_remove_proposal",
    "export_admin_backup",
    "export_staff_backup",
    "export_visitor_state",
    "fingerprint",
    "format_resume_code",
    "generate_admin_key",
    "generate_resume_code",
    "import_admin_backup",
    "import_staff_backup",
    "import_visitor_state",
    "open_conversation",
    "parse_proposal",
    "parse_resume_code",
    "peek",
    "resume_conversation",
    "safety_number",
    "sign_directory",
    "verify_certificate",
    "verify_directory",
]
