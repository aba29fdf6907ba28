"""The image API's policy: Glance's rules; a refusal is Glance's 403."""

from __future__ import annotations

from tests.api.world import World

IMAGES = "/image/v2/images"


def test_a_reader_lists_and_shows_but_only_a_member_creates_and_deletes(world: World) -> None:
    member = world.client(roles="member,reader")
    image_id = member.post(IMAGES, json={"name": "img"}).json()["id"]
    reader = world.client(roles="reader")
    assert [i["id"] for i in reader.get(IMAGES).json()["images"]] == [image_id]
    assert reader.get(f"{IMAGES}/{image_id}").status_code == 200
    refused = reader.post(IMAGES, json={"name": "no"})
    assert refused.status_code == 403
    assert refused.json() == {
        "code": 403,
        "title": "Forbidden",
        "message": "You are not authorized to complete add_image action.",
    }
    assert reader.delete(f"{IMAGES}/{image_id}").status_code == 403
    assert reader.put(f"{IMAGES}/{image_id}/file", content=b"x").status_code == 403
    assert member.delete(f"{IMAGES}/{image_id}").status_code == 204
