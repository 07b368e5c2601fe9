"""Collections: named groups of library videos, audio tracks or images."""

from __future__ import annotations

from typing import get_args

from sqlmodel import select

from media.db import session_scope
from media.errors import StudioError
from media.models import AudioFile, Collection, CollectionType, Image, Video, utcnow
from media.validate import display_name

COLLECTION_TYPES: tuple[str, ...] = get_args(CollectionType)
_MEMBER_TABLE = {"video": Video, "audio": AudioFile, "image": Image}


class CollectionError(StudioError, ValueError):
    """Bad collection name, type or id."""


def _check_type(kind: str) -> str:
    if kind not in COLLECTION_TYPES:
        raise CollectionError(f"unknown collection type {kind!r}; use one of {', '.join(COLLECTION_TYPES)}")
    return kind


def list_collections(kind: str | None = None) -> list[Collection]:
    """Collections, by name, optionally of one type."""
    with session_scope() as session:
        query = select(Collection).order_by(Collection.name)
        if kind:
            query = query.where(Collection.type == _check_type(kind))
        return list(session.exec(query))


def find_or_create_collection(name: str, kind: str) -> Collection:
    """The collection of type ``kind`` named ``name`` (case-insensitive), created if missing."""
    name = name.strip()
    if not name:
        raise CollectionError("collection name is empty")
    display_name(name, "collection name")
    _check_type(kind)
    with session_scope() as session:
        for existing in session.exec(select(Collection).where(Collection.type == kind)):
            if existing.name.lower() == name.lower():
                return existing
        collection = Collection(name=name, type=kind)
        session.add(collection)
        return collection


def resolve_collection(ref: str, kind: str) -> Collection | None:
    """A collection by id or by name (created when a new name is given); None for an empty ``ref``."""
    ref = (ref or "").strip()
    if not ref:
        return None
    with session_scope() as session:
        found = session.get(Collection, ref)
        if found is not None:
            if found.type != kind:
                raise CollectionError(f"collection {found.name!r} holds {found.type} items, not {kind}")
            return found
    return find_or_create_collection(ref, kind)


def rename_collection(collection_id: str, new_name: str) -> Collection:
    """Rename a collection; raises :class:`CollectionError` for an unknown id or an empty name."""
    new_name = new_name.strip()
    if not new_name:
        raise CollectionError("collection name is empty")
    display_name(new_name, "collection name")
    with session_scope() as session:
        collection = session.get(Collection, collection_id)
        if collection is None:
            raise CollectionError(f"no collection with id {collection_id}")
        collection.name = new_name
        collection.updated_at = utcnow()
        session.add(collection)
        return collection


def delete_collection(collection_id: str) -> int:
    """Delete a collection; its items stay in the library, ungrouped. Returns how many were ungrouped."""
    with session_scope() as session:
        collection = session.get(Collection, collection_id)
        if collection is None:
            raise CollectionError(f"no collection with id {collection_id}")
        table = _MEMBER_TABLE[collection.type]
        members = list(session.exec(select(table).where(table.collection_id == collection_id)))
        for member in members:
            member.collection_id = None
            session.add(member)
        session.delete(collection)
        return len(members)
