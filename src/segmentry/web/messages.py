"""Message catalogs: the English text is the message id (as in gettext); ``JA`` maps each id to
Japanese. A language without an entry falls back to the English id.

Why a Python dict rather than Babel ``.po``/``.mo`` files: two languages and a couple of
hundred short strings; no compile step in the build or the wheel; the catalog is type-checked,
and ``tests/web/test_messages.py`` fails when a template uses an id the Japanese catalog lacks.
Moving to ``.po`` files later is mechanical (the ids are already the English text).

>>> translator("ja")("Segments"), translator("en")("Segments"), translator("ja")("unknown id")
('セグメント', 'Segments', 'unknown id')
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["EN", "JA", "LANGUAGES", "translator"]

LANGUAGES = ("ja", "en")

JA: dict[str, str] = {
    # navigation and common words
    "Overview": "概要",
    "Segments": "セグメント",
    "New segment": "新規セグメント",
    "Runs": "実行履歴",
    "Settings": "設定",
    "Sign in": "ログイン",
    "Sign out": "ログアウト",
    "Email": "メールアドレス",
    "Password": "パスワード",
    "Wrong email or password.": "メールアドレスまたはパスワードが違います。",
    "Error": "エラー",
    "Something is not right": "問題が発生しました",
    "Back to the overview": "概要に戻る",
    "as of": "基準日",
    "Save": "保存",
    "Edit": "編集",
    "Remove": "削除",
    "Remove this segment?": "このセグメントを削除しますか？",
    "Add": "追加",
    "All": "すべて",
    "Search": "検索",
    "Previous": "前へ",
    "Next": "次へ",
    "Loading…": "読み込み中…",
    "Name": "名前",
    "Description": "説明",
    "Folder": "フォルダ",
    "Customer": "顧客",
    "Segment": "セグメント",
    # metrics
    "customers": "顧客数",
    "repeat_rate": "リピート率",
    "ltv": "LTV",
    "aov": "平均注文額",
    "revenue_30d": "売上（30日）",
    "Customers": "顧客数",
    "Repeat rate": "リピート率",
    "LTV": "LTV",
    "AOV": "平均注文額",
    "Revenue per day": "日次売上",
    "Revenue (30 days)": "売上（30日）",
    "Joined": "加入",
    "Left": "離脱",
    "Joined and left per day": "日次の加入・離脱",
    "Change vs 30 days ago": "30日前比",
    "vs 30 days before": "（30日前比）",
    "Last 90 days": "直近90日",
    "History": "履歴",
    # overview
    "Top segments by growth": "成長しているセグメント",
    "Last pipeline run": "最新のパイプライン実行",
    "All runs": "すべての実行",
    "No runs yet.": "まだ実行されていません。",
    "No segments yet.": "まだセグメントがありません。",
    # segment page
    "Journeys": "購買ジャーニー",
    "1st order": "初回購入",
    "2nd order": "2回目購入",
    "Products": "商品",
    "Product types": "商品タイプ",
    "Channels": "流入チャネル",
    "Share": "割合",
    "Days from 1st to 2nd order": "初回から2回目購入までの日数",
    "Median": "中央値",
    "days": "日",
    "No orders yet.": "まだ注文がありません。",
    "members placed this order": "人がこの注文をしました",
    "Members": "メンバー",
    "Search id, email or name": "ID・メール・名前で検索",
    "Download CSV": "CSVダウンロード",
    "No members.": "メンバーはいません。",
    "This segment has not been computed yet.": "このセグメントはまだ計算されていません。",
    "Shopify tag sync": "Shopifyタグ連携",
    "Customer tag": "顧客タグ",
    "Previous tags": "以前のタグ",
    "Shopify segment": "Shopifyセグメント",
    "Created in Shopify": "Shopifyに作成済み",
    "Not created": "未作成",
    "Last sync": "最終同期",
    "Tag added": "タグ付与",
    "Tag removed": "タグ削除",
    "Refused by Shopify": "Shopifyが拒否",
    "No changes written yet.": "まだ変更は書き込まれていません。",
    "Audit log": "監査ログ",
    "entries": "件の記録",
    "latest": "最新",
    # builder
    "Segment builder": "セグメントビルダー",
    "Query": "条件（クエリ）",
    "Type a query to see how many customers match.":
        "条件を入力すると該当する顧客数が表示されます。",
    "Save and compute history": "保存して履歴を計算",
    "Saving computes the segment's full daily history; this can take a few seconds.":
        "保存すると全期間の日次履歴を計算します。数秒かかることがあります。",
    "Sample members": "該当顧客のサンプル",
    "Add a condition": "条件を追加",
    "Dates: 2024-05-01, or relative like -30d, -2w, -3m.":
        "日付: 2024-05-01、または -30d・-2w・-3m のような相対指定。",
    "Templates": "テンプレート",
    "Valid query.": "有効な条件です。",
    "customers match today": "人が本日該当",
    "Checking…": "確認中…",
    "Did you mean": "もしかして",
    "line": "行",
    "column": "列",
    # attributes offered by the condition picker
    "number_of_orders": "注文回数",
    "amount_spent": "累計購入金額",
    "first_order_date": "初回購入日",
    "last_order_date": "最終購入日",
    "first_order_channel": "初回購入チャネル",
    "customer_tags": "顧客タグ",
    "customer_regions": "都道府県",
    "average_order_value": "平均注文額",
    "subscriber": "定期購入者",
    "email_subscription_status": "メール配信の同意",
    # runs
    "Run now": "今すぐ実行",
    "Day": "対象日",
    "Status": "状態",
    "Started": "開始",
    "Time": "所要時間",
    "Stages": "ステージ",
    "running": "実行中",
    "succeeded": "成功",
    "failed": "失敗",
    # settings
    "Shop": "ショップ",
    "Time zone": "タイムゾーン",
    "Currency": "通貨",
    "Refunds": "返金",
    "Amounts are net of refunds": "金額は返金を差し引いた額です",
    "Amounts include refunded money": "金額は返金分を含みます",
    "Analytics engine": "分析エンジン",
    "State store": "状態ストア",
    "Sources": "データソース",
    "None (imports only).": "なし（インポートのみ）",
    "Change these in segmentry.toml in the workspace folder.":
        "これらはワークスペースの segmentry.toml で変更します。",
    "API tokens": "APIトークン",
    "Copy this token now; it will not be shown again:":
        "このトークンを今コピーしてください。再表示はされません:",
    "Token name": "トークン名",
    "Create token": "トークンを作成",
    "Token": "トークン",
    "Created": "作成日時",
    "Last used": "最終使用",
    "Revoked": "無効化済み",
    "Revoke": "無効化",
    "No tokens.": "トークンはありません。",
    # background jobs, schedule and tag sync (issue 8, items 9-10)
    "Next scheduled run": "次回の定時実行",
    "The daily run is switched off.": "毎日の定時実行はオフです。",
    "This server does not run the daily schedule.": "このサーバーは定時実行を行いません。",
    "Daily run": "日次実行",
    "Tag sync": "タグ連携",
    "Clearing the tag": "タグの解除",
    "Queued": "待機中",
    "Reading the sources": "データ取り込み",
    "Updating order facts": "注文データの更新",
    "Evaluating segments": "セグメント判定",
    "Computing metrics": "指標の計算",
    "Reading customers from Shopify": "Shopifyから顧客を取得",
    "Planning tag changes": "タグ変更の計画",
    "Writing tags to Shopify": "Shopifyにタグを書き込み",
    "Creating the Shopify segment": "Shopifyセグメントを作成",
    "scheduled": "定時",
    "Customers to tag": "タグを付ける顧客",
    "Customers to untag": "タグを外す顧客",
    "Nothing to change: Shopify already matches the segment.":
        "変更はありません：Shopifyはすでにセグメントと一致しています。",
    "The tag will be removed from these customers and the segment no longer synced.":
        "これらの顧客からタグを外し、このセグメントの連携を停止します。",
    "This segment is not synced to Shopify. Choose a tag, preview the changes, then sync.":
        "このセグメントはShopifyと連携していません。タグを決めて変更内容を確認してから連携してください。",
    "Also create a Shopify segment": "Shopifyセグメントも作成する",
    "Take over the tag if customers already carry it": "既に顧客に付いているタグを引き継ぐ",
    "Preview changes": "変更内容を確認",
    "Stop syncing": "連携を停止",
    "Change": "変更",
    "Sync now": "今すぐ連携",
    "Remove the tag and stop syncing": "タグを外して連携を停止",
}

# English text for the ids that are keys rather than English (metric keys, run statuses).
EN: dict[str, str] = {
    "customers": "Customers",
    "repeat_rate": "Repeat rate",
    "ltv": "LTV",
    "aov": "AOV",
    "revenue_30d": "Revenue (30 days)",
    "running": "Running",
    "succeeded": "Succeeded",
    "failed": "Failed",
}

_CATALOGS: dict[str, dict[str, str]] = {"ja": JA, "en": EN}


def translator(lang: str) -> Callable[[str], str]:
    """``_(message_id)`` for ``lang`` (unknown ids come back unchanged)."""
    catalog = _CATALOGS.get(lang, {})

    def translate(message: str) -> str:
        return catalog.get(message, message)

    return translate
