"""The demo's tenancy document: organizations of different sizes and every kind of user."""

from __future__ import annotations

from typing import Any

__all__ = ["DEMO_ADMIN_EMAIL", "DEMO_SERVICE_ACCOUNT", "demo_document"]

DEMO_ADMIN_EMAIL = "ada@acme.example"
DEMO_SERVICE_ACCOUNT = "Dashboard Demo"

ACME = "300123"
GLOBEX = "300456"
INITECH = "300789"


def demo_document() -> dict[str, Any]:
    return {
        "organizations": [
            {
                "id": ACME,
                "uuid": "8a1c4f10-1111-4d2c-9c2a-abc123def456",
                "name": "Acme Corp",
                "settings": [
                    {
                        "effectiveFrom": "2026-07",
                        "allowances": {
                            "apiCalls": 1_000_000,
                            "integrationTasks": 50_000,
                            "aiCredits": 5_000,
                        },
                        "aiCreditAddon": True,
                        "freeAiCredits": 500,
                        "aiAutomationEnabled": True,
                        "assistantsEnabled": True,
                    },
                    {"effectiveFrom": "2026-10", "allowances": {"apiCalls": 1_500_000}},
                ],
                "roles": [{"name": "Finance viewer", "permissions": ["usage_stats"]}],
                "agents": [
                    {"id": "agt-invoice", "name": "Invoice Processor"},
                    {"id": "agt-triage", "name": "Ticket Triage"},
                    {"id": "agt-onboard", "name": "Onboarding Helper"},
                    {"id": "agt-legacy", "name": "Legacy Classifier", "deleted": True},
                ],
                "flows": [
                    {
                        "id": "flow-crm",
                        "name": "Sync CRM contacts",
                        "project": {
                            "id": "prj-sales",
                            "name": "Sales",
                            "icon": "cart",
                            "color": "blue",
                        },
                    },
                    {
                        "id": "flow-leads",
                        "name": "Score inbound leads",
                        "project": {
                            "id": "prj-sales",
                            "name": "Sales",
                            "icon": "cart",
                            "color": "blue",
                        },
                    },
                    {
                        "id": "flow-payroll",
                        "name": "Payroll export",
                        "project": {
                            "id": "prj-hr",
                            "name": "People",
                            "icon": "users",
                            "color": "green",
                        },
                    },
                    {
                        "id": "flow-invoices",
                        "name": "Invoice archive",
                        "status": "DISABLED",
                        "project": {
                            "id": "prj-fin",
                            "name": "Finance",
                            "icon": "coins",
                            "color": "amber",
                        },
                    },
                ],
            },
            {
                "id": GLOBEX,
                "uuid": "b27d5e21-2222-4a3b-8d1b-def456abc789",
                "name": "Globex",
                "settings": [
                    {
                        "effectiveFrom": "2026-07",
                        "allowances": {"apiCalls": 200_000},
                        "aiAutomationEnabled": True,
                    }
                ],
                "agents": [{"id": "agt-globex-bot", "name": "Support Bot"}],
                "flows": [
                    {
                        "id": "flow-gx-orders",
                        "name": "Order sync",
                        "project": {"id": "prj-gx-ops", "name": "Operations"},
                    },
                ],
            },
            {"id": INITECH, "uuid": "c38e6f32-3333-4b4c-9e2c-0f1a2b3c4d5e", "name": "Initech"},
        ],
        "users": [
            {
                "email": DEMO_ADMIN_EMAIL,
                "name": "Ada",
                "memberships": [
                    {"organization": ACME, "role": "super_admin"},
                    {"organization": GLOBEX, "role": "admin"},
                    {"organization": INITECH, "role": "super_admin"},
                ],
                "personalTokens": [{"name": "Python Integration", "billingOrganization": ACME}],
            },
            {
                "email": "grace@acme.example",
                "name": "Grace",
                "memberships": [{"organization": ACME, "role": "Finance viewer"}],
                "personalTokens": [{"name": "Reports", "billingOrganization": ACME}],
            },
            {
                "email": "linus@acme.example",
                "name": "Linus",
                "memberships": [{"organization": ACME, "role": "member"}],
                "personalTokens": [{"name": "CLI", "billingOrganization": ACME}],
            },
        ],
        "serviceAccounts": [
            {
                "organization": ACME,
                "name": DEMO_SERVICE_ACCOUNT,
                "role": "super_admin",
                "tokenLifetime": "30d",
                "description": "Signs in to the demo dashboard",
            },
            {
                "organization": ACME,
                "name": "HR Integration Bot",
                "role": "admin",
                "tokenLifetime": "30d",
            },
            {"organization": ACME, "name": "Billing Sync", "role": "member", "tokenLifetime": "1d"},
            {"organization": GLOBEX, "name": "Globex ETL", "role": "admin", "tokenLifetime": "7d"},
        ],
        "ingestKeys": [{"name": "demo-gateway"}],
    }
