"""a host's tunnel address in a column of its own (it was a key of cpu_info)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KEY = "tunnel_address"
NODES = sa.table(
    "compute_nodes",
    sa.column("id", sa.Integer()),
    sa.column("cpu_info", sa.JSON()),
    sa.column("tunnel_address", sa.String(64)),
)


def _loaded(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # a driver that hands JSON back as text
        value = json.loads(value)
    return dict(value or {})


def upgrade() -> None:
    with op.batch_alter_table("compute_nodes") as batch:
        batch.add_column(sa.Column("tunnel_address", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    for row_id, cpu_info in bind.execute(sa.select(NODES.c.id, NODES.c.cpu_info)).all():
        info = _loaded(cpu_info)
        if KEY not in info:
            continue
        address = info.pop(KEY)
        bind.execute(
            NODES.update()
            .where(NODES.c.id == row_id)
            .values(cpu_info=info, tunnel_address=address if isinstance(address, str) else None)
        )


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(NODES.c.id, NODES.c.cpu_info, NODES.c.tunnel_address).where(
            NODES.c.tunnel_address.is_not(None)
        )
    ).all()
    for row_id, cpu_info, address in rows:
        info = {**_loaded(cpu_info), KEY: address}
        bind.execute(NODES.update().where(NODES.c.id == row_id).values(cpu_info=info))
    with op.batch_alter_table("compute_nodes") as batch:
        batch.drop_column("tunnel_address")
