import umwi_core


def test_public_api_is_pinned() -> None:
    assert sorted(umwi_core.__all__) == [
        "Alert",
        "AlertSink",
        "ConflictError",
        "Environment",
        "FileAlertSink",
        "InputError",
        "Lake",
        "LakeError",
        "Ledger",
        "LedgerError",
        "Publication",
        "PublishedTable",
        "ResourceNames",
        "RunManifest",
        "Settings",
        "SettingsError",
        "SnsAlertSink",
        "SourceError",
        "TableCounts",
        "UmwiError",
        "WindowRecord",
        "WindowStatus",
        "configure_logging",
        "load_settings",
        "make_alerts",
        "make_lake",
        "make_ledger",
        "new_run_id",
        "read_manifest",
        "read_publication",
        "redact",
        "resource_names",
        "serving_key",
        "write_manifest",
        "write_publication",
    ]
    for name in umwi_core.__all__:
        assert hasattr(umwi_core, name), name
