"""Security groups in the API database: each project's `default` group, rules, ports' groups.

Neutron's behaviour: a project's `default` group is made on its first use
(a list of groups by or for the project, its first port), with Neutron's
four rules; `default_security_groups` holds one row per project, so two
workers racing to make it conflict and the loser reads the winner's. A new
group gets the two egress rules. Groups are kept and shown; whether a
backend enforces them is the backend's business: after each committed
group or rule write the `changed` hook is called with the group's id (the
network service hands it to its mirror; OVN enforces them), `deleted`
after a group's deletion.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offpath.db.columns import utcnow
from offpath.db.engine import reading, write_retrying
from offpath.db.network_schema import (
    DefaultSecurityGroupRow,
    PortSecurityGroupRow,
    SecurityGroupRow,
    SecurityGroupRuleRow,
)
from offpath.errors import (
    SecurityGroupCannotRemoveDefault,
    SecurityGroupCannotUpdateDefault,
    SecurityGroupDefaultAlreadyExists,
    SecurityGroupInUse,
    SecurityGroupNotFound,
    SecurityGroupRuleExists,
    SecurityGroupRuleNotFound,
)
from offpath.network.caller import Caller, storable, visible_row
from offpath.network.neutron_json import (
    SecurityGroupChanges,
    SecurityGroupRuleSpec,
    SecurityGroupSpec,
    Unset,
)
from offpath.network.records import SecurityGroupRecord, SecurityGroupRuleRecord
from offpath.ports.security_group import (
    DEFAULT_GROUP,
    Direction,
    Ethertype,
    Rule,
    check_rule,
    default_group_rules,
    new_group_rules,
)

DEFAULT_DESCRIPTION = "Default security group"


class SecurityGroups:
    """Neutron's security-group extension over the API database."""

    def __init__(
        self,
        engine: Engine,
        *,
        changed: Callable[[str], None] | None = None,
        deleted: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self._changed = changed
        self._deleted = deleted

    def _tell_changed(self, group_ids: Sequence[str]) -> None:
        if self._changed is not None:
            for group_id in group_ids:
                self._changed(group_id)

    # -- groups ----------------------------------------------------------------------

    def create_group(self, caller: Caller, spec: SecurityGroupSpec) -> SecurityGroupRecord:
        """A new group with the two egress rules; a second `default` is refused."""
        project = caller.project_for(spec.project_id)
        if spec.name == DEFAULT_GROUP:
            self.ensure_default(project)
            raise SecurityGroupDefaultAlreadyExists()

        def work(session: Session) -> SecurityGroupRecord:
            row = _new_group(session, project, spec.name, spec.description, spec.stateful)
            _add_rules(session, row, new_group_rules())
            return _group_records(session, [row])[0]

        record = write_retrying(self.engine, work, retry_on=IntegrityError)
        self._tell_changed([record.id])
        return record

    def ensure_default(self, project_id: str) -> str:
        """The id of the project's `default` group, made with its rules on first use."""
        with reading(self.engine) as session:
            found = _default_id(session, project_id)
        if found is not None:
            return found
        made = write_retrying(
            self.engine,
            lambda session: ensure_default_group(session, project_id),
            retry_on=IntegrityError,
        )
        self._tell_changed([made])
        return made

    def list_groups(
        self, caller: Caller, *, project_ids: Sequence[str] = (), ids: Sequence[str] = ()
    ) -> list[SecurityGroupRecord]:
        """The groups the caller sees (its project's `default` made first), oldest first."""
        for project in project_ids or ([caller.project_id] if caller.project_id else []):
            if storable(project) and (caller.sees(project)):
                self.ensure_default(project)
        query = select(SecurityGroupRow).order_by(SecurityGroupRow.created_at, SecurityGroupRow.id)
        if not caller.sees_all:
            query = query.where(SecurityGroupRow.project_id == caller.project_id)
        if project_ids:
            query = query.where(SecurityGroupRow.project_id.in_(_storable(project_ids)))
        if ids:
            query = query.where(SecurityGroupRow.id.in_(_storable(ids)))
        with reading(self.engine) as session:
            return _group_records(session, list(session.scalars(query)))

    def get_group(self, caller: Caller, group_id: str) -> SecurityGroupRecord:
        """One group; SecurityGroupNotFound when absent or another project's."""
        with reading(self.engine) as session:
            return _group_records(session, [_group_row(session, caller, group_id)])[0]

    def update_group(
        self, caller: Caller, group_id: str, changes: SecurityGroupChanges
    ) -> SecurityGroupRecord:
        """Rename or describe a group; the `default` group keeps its name."""

        def work(session: Session) -> SecurityGroupRecord:
            row = _group_row(session, caller, group_id)
            is_default = _default_id(session, row.project_id) == row.id
            if not isinstance(changes.name, Unset) and changes.name != row.name:
                if is_default:
                    raise SecurityGroupCannotUpdateDefault()
                if changes.name == DEFAULT_GROUP:
                    raise SecurityGroupDefaultAlreadyExists()
                row.name = changes.name
            if not isinstance(changes.description, Unset):
                row.description = changes.description
            if not isinstance(changes.stateful, Unset):
                row.stateful = changes.stateful
            row.revision_number += 1
            row.updated_at = utcnow()
            session.flush()
            return _group_records(session, [row])[0]

        record = write_retrying(self.engine, work, retry_on=IntegrityError)
        self._tell_changed([record.id])  # `stateful` decides the ACLs' action
        return record

    def delete_group(self, caller: Caller, group_id: str) -> None:
        """Delete a group and its rules; not while a port uses it, nor `default` unless admin."""

        def work(session: Session) -> list[str]:
            row = _group_row(session, caller, group_id)
            if _default_id(session, row.project_id) == row.id and not caller.is_admin:
                raise SecurityGroupCannotRemoveDefault()
            used = session.scalar(
                select(func.count())
                .select_from(PortSecurityGroupRow)
                .where(PortSecurityGroupRow.security_group_id == row.id)
            )
            if used:
                raise SecurityGroupInUse(group_id)
            # Rules of other groups that name it as their remote go with it, as in Neutron.
            others = session.scalars(
                select(SecurityGroupRuleRow.security_group_id).where(
                    SecurityGroupRuleRow.remote_group_id == row.id,
                    SecurityGroupRuleRow.security_group_id != row.id,
                )
            )
            touched = sorted(set(others))
            session.execute(
                delete(SecurityGroupRuleRow).where(
                    (SecurityGroupRuleRow.security_group_id == row.id)
                    | (SecurityGroupRuleRow.remote_group_id == row.id)
                )
            )
            session.execute(
                delete(DefaultSecurityGroupRow).where(
                    DefaultSecurityGroupRow.security_group_id == row.id
                )
            )
            session.delete(row)
            return touched

        touched = write_retrying(self.engine, work, retry_on=IntegrityError)
        if self._deleted is not None:
            self._deleted(group_id)
        self._tell_changed(touched)

    # -- rules -----------------------------------------------------------------------

    def create_rule(self, caller: Caller, spec: SecurityGroupRuleSpec) -> SecurityGroupRuleRecord:
        """Add a rule to a group; SecurityGroupRuleExists when one admits the same traffic."""
        rule = check_rule(spec.rule)

        def work(session: Session) -> SecurityGroupRuleRecord:
            group = _group_row(session, caller, spec.security_group_id)
            if rule.remote_group_id is not None:
                _group_row(session, caller, rule.remote_group_id)
            for existing in session.scalars(
                select(SecurityGroupRuleRow).where(
                    SecurityGroupRuleRow.security_group_id == group.id
                )
            ):
                if _rule_of(existing).same_match(rule):
                    raise SecurityGroupRuleExists(existing.id)
            row = _add_rules(session, group, (rule,), description=spec.description)[0]
            group.revision_number += 1
            session.flush()
            return _rule_record(row, default=_default_id(session, group.project_id) == group.id)

        record = write_retrying(self.engine, work, retry_on=IntegrityError)
        self._tell_changed([record.security_group_id])
        return record

    def list_rules(self, caller: Caller) -> list[SecurityGroupRuleRecord]:
        """The rules of the groups the caller sees."""
        query = select(SecurityGroupRuleRow).order_by(
            SecurityGroupRuleRow.created_at, SecurityGroupRuleRow.id
        )
        if not caller.sees_all:
            query = query.where(SecurityGroupRuleRow.project_id == caller.project_id)
        with reading(self.engine) as session:
            rows = list(session.scalars(query))
            defaults = _default_ids(session)
            return [_rule_record(row, default=row.security_group_id in defaults) for row in rows]

    def get_rule(self, caller: Caller, rule_id: str) -> SecurityGroupRuleRecord:
        """One rule; SecurityGroupRuleNotFound when absent or another project's."""
        with reading(self.engine) as session:
            row = _rule_row(session, caller, rule_id)
            return _rule_record(row, default=row.security_group_id in _default_ids(session))

    def delete_rule(self, caller: Caller, rule_id: str) -> None:
        """Delete a rule."""

        def work(session: Session) -> str:
            row = _rule_row(session, caller, rule_id)
            group = session.get(SecurityGroupRow, row.security_group_id)
            if group is not None:
                group.revision_number += 1
            session.delete(row)
            return row.security_group_id

        self._tell_changed([write_retrying(self.engine, work, retry_on=IntegrityError)])

    # -- what compute reads --------------------------------------------------------------

    def names(self, group_ids: Sequence[str]) -> dict[str, str]:
        """The names of the groups of `group_ids` (one query for a page of servers)."""
        wanted = _storable(group_ids)
        if not wanted:
            return {}
        with reading(self.engine) as session:
            query = select(SecurityGroupRow.id, SecurityGroupRow.name)
            return dict(session.execute(query.where(SecurityGroupRow.id.in_(wanted))).tuples())


# -- inside a port write -----------------------------------------------------------------


def ensure_default_group(session: Session, project_id: str) -> str:
    """The project's `default` group's id, made in this transaction if it has none.

    Two writers making it at once conflict on `default_security_groups`; the
    loser's transaction fails with IntegrityError and, retried, finds the group.
    """
    found = _default_id(session, project_id)
    if found is not None:
        return found
    row = _new_group(session, project_id, DEFAULT_GROUP, DEFAULT_DESCRIPTION, True)
    session.add(DefaultSecurityGroupRow(project_id=project_id, security_group_id=row.id))
    session.flush()
    _add_rules(session, row, default_group_rules(row.id))
    return row.id


def set_port_groups(
    session: Session, port_id: str, project_id: str, group_ids: Sequence[str]
) -> None:
    """Make `group_ids` the port's groups; each must be a group of the port's project."""
    for group_id in group_ids:
        row = session.get(SecurityGroupRow, group_id) if storable(group_id) else None
        if row is None or row.project_id != project_id:
            raise SecurityGroupNotFound(group_id)
    session.execute(delete(PortSecurityGroupRow).where(PortSecurityGroupRow.port_id == port_id))
    for group_id in group_ids:
        session.add(PortSecurityGroupRow(port_id=port_id, security_group_id=group_id))
    session.flush()


def group_records(session: Session, group_ids: Sequence[str]) -> list[SecurityGroupRecord]:
    """The groups of `group_ids` that exist, with their rules, in the order given."""
    wanted = _storable(group_ids)
    if not wanted:
        return []
    rows = {
        row.id: row
        for row in session.scalars(select(SecurityGroupRow).where(SecurityGroupRow.id.in_(wanted)))
    }
    return _group_records(session, [rows[i] for i in wanted if i in rows])


def group_members(session: Session, group_id: str) -> tuple[str, ...]:
    """The ids of the ports in a group, sorted."""
    query = select(PortSecurityGroupRow.port_id).where(
        PortSecurityGroupRow.security_group_id == group_id
    )
    return tuple(sorted(session.scalars(query)))


def filtered_ports(session: Session) -> tuple[str, ...]:
    """The ids of the ports that are in at least one group, sorted."""
    return tuple(sorted(set(session.scalars(select(PortSecurityGroupRow.port_id)))))


def port_groups(session: Session, port_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each port's group ids, by id: Neutron keeps them as a set, so any order is stable."""
    found: dict[str, list[str]] = {}
    if port_ids:
        query = select(PortSecurityGroupRow.port_id, PortSecurityGroupRow.security_group_id)
        for port_id, group_id in session.execute(
            query.where(PortSecurityGroupRow.port_id.in_(port_ids)).order_by(
                PortSecurityGroupRow.port_id, PortSecurityGroupRow.security_group_id
            )
        ):
            found.setdefault(port_id, []).append(group_id)
    return {key: tuple(value) for key, value in found.items()}


# -- rows ----------------------------------------------------------------------------------


def _storable(values: Sequence[str]) -> list[str]:
    return [value for value in values if storable(value)]


def _default_id(session: Session, project_id: str) -> str | None:
    return session.scalar(
        select(DefaultSecurityGroupRow.security_group_id).where(
            DefaultSecurityGroupRow.project_id == project_id
        )
    )


def _default_ids(session: Session) -> set[str]:
    return set(session.scalars(select(DefaultSecurityGroupRow.security_group_id)))


def _new_group(
    session: Session, project_id: str, name: str, description: str, stateful: bool
) -> SecurityGroupRow:
    now = utcnow()
    row = SecurityGroupRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=name,
        description=description,
        stateful=stateful,
        revision_number=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _add_rules(
    session: Session, group: SecurityGroupRow, rules: Sequence[Rule], *, description: str = ""
) -> list[SecurityGroupRuleRow]:
    now = utcnow()
    rows = [
        SecurityGroupRuleRow(
            id=str(uuid.uuid4()),
            security_group_id=group.id,
            project_id=group.project_id,
            direction=rule.direction.value,
            ethertype=rule.ethertype.value,
            protocol=rule.protocol,
            port_range_min=rule.port_range_min,
            port_range_max=rule.port_range_max,
            remote_ip_prefix=rule.remote_ip_prefix,
            remote_group_id=rule.remote_group_id,
            remote_address_group_id=None,
            normalized_cidr=rule.normalized_cidr,
            description=description,
            revision_number=0,
            created_at=now,
            updated_at=now,
        )
        for rule in rules
    ]
    session.add_all(rows)
    session.flush()
    return rows


def _group_row(session: Session, caller: Caller, group_id: str) -> SecurityGroupRow:
    return visible_row(session, caller, SecurityGroupRow, group_id, SecurityGroupNotFound)


def _rule_row(session: Session, caller: Caller, rule_id: str) -> SecurityGroupRuleRow:
    return visible_row(session, caller, SecurityGroupRuleRow, rule_id, SecurityGroupRuleNotFound)


def _rule_of(row: SecurityGroupRuleRow) -> Rule:
    return Rule(
        direction=Direction(row.direction),
        ethertype=Ethertype(row.ethertype),
        protocol=row.protocol,
        port_range_min=row.port_range_min,
        port_range_max=row.port_range_max,
        remote_ip_prefix=row.remote_ip_prefix,
        remote_group_id=row.remote_group_id,
    )


def _rule_record(row: SecurityGroupRuleRow, *, default: bool) -> SecurityGroupRuleRecord:
    return SecurityGroupRuleRecord(
        id=row.id,
        security_group_id=row.security_group_id,
        project_id=row.project_id,
        rule=_rule_of(row),
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revision_number=row.revision_number,
        belongs_to_default_sg=default,
    )


def _group_records(session: Session, rows: Sequence[SecurityGroupRow]) -> list[SecurityGroupRecord]:
    ids = [row.id for row in rows]
    rules: dict[str, list[SecurityGroupRuleRecord]] = {}
    defaults = _default_ids(session)
    if ids:
        query = (
            select(SecurityGroupRuleRow)
            .where(SecurityGroupRuleRow.security_group_id.in_(ids))
            .order_by(SecurityGroupRuleRow.created_at, SecurityGroupRuleRow.id)
        )
        for rule in session.scalars(query):
            record = _rule_record(rule, default=rule.security_group_id in defaults)
            rules.setdefault(rule.security_group_id, []).append(record)
    return [
        SecurityGroupRecord(
            id=row.id,
            project_id=row.project_id,
            name=row.name,
            description=row.description,
            stateful=row.stateful,
            rules=tuple(rules.get(row.id, ())),
            created_at=row.created_at,
            updated_at=row.updated_at,
            revision_number=row.revision_number,
            is_default=row.id in defaults,
        )
        for row in rows
    ]
