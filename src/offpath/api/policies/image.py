"""The image API's rules: Glance's names and current defaults (no base rules: roles written out)."""

from __future__ import annotations

from typing import Final

from offpath.api.policies.documented import documented

IMAGES: Final = "/v2/images"
IMAGE: Final = "/v2/images/{image_id}"
ADMIN_OR_PROJECT_MEMBER: Final = "role:admin or (role:member and project_id:%(project_id)s)"

RULES: Final = (
    documented(
        "add_image",
        "role:admin or (role:member and project_id:%(project_id)s and project_id:%(owner)s)",
        "Create new image",
        ("POST", IMAGES),
    ),
    documented(
        "get_images",
        "role:admin or (role:reader and project_id:%(project_id)s)",
        "Get images",
        ("GET", IMAGES),
    ),
    documented(
        "get_image",
        "role:admin or (role:reader and (project_id:%(project_id)s or "
        "project_id:%(member_id)s or 'community':%(visibility)s or "
        "'public':%(visibility)s or 'shared':%(visibility)s))",
        "Get specified image",
        ("GET", IMAGE),
    ),
    documented("modify_image", ADMIN_OR_PROJECT_MEMBER, "Updates given image", ("PATCH", IMAGE)),
    documented("delete_image", ADMIN_OR_PROJECT_MEMBER, "Deletes the image", ("DELETE", IMAGE)),
    documented(
        "upload_image", ADMIN_OR_PROJECT_MEMBER, "Upload data for image", ("PUT", f"{IMAGE}/file")
    ),
)
