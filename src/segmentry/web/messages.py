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
    "customer_added_date": "顧客登録日",
    "customer_cities": "市区町村",
    "customer_countries": "国",
    "sms_subscription_status": "SMS配信の同意",
    "rfm_group": "RFMグループ",
    "predicted_spend_tier": "予測購入額ランク",
    "first_order_utm_source": "初回注文のutm_source",
    "first_order_utm_medium": "初回注文のutm_medium",
    "first_order_utm_campaign": "初回注文のutm_campaign",
    "first_order_source_name": "初回注文の販売チャネル",
    "last_order_channel": "最終購入チャネル",
    "days_to_second_order": "2回目購入までの日数",
    "days_since_last_order": "最終購入からの日数",
    "purchase_interval": "平均購入間隔（日）",
    "order_tags": "注文タグ",
    "discount_codes_used": "使用した割引コード",
    "segments": "所属セグメント",
    "products_purchased": "購入した商品",
    "orders_placed": "注文",
    "id": "商品ID",
    "tag": "商品タグ",
    "product_type": "商品タイプ",
    "vendor": "ブランド（ベンダー）",
    "sku": "SKU",
    "product_line": "商品ライン",
    "quantity": "合計数量",
    "date": "注文日",
    "order_number": "何回目の注文か",
    "channel": "チャネル",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "source_name": "販売チャネル（source_name）",
    "discount_code": "割引コード",
    "order_tag": "注文タグ",
    "subscription": "定期購入の注文",
    "total": "注文金額",
    "count": "該当注文数",
    # the picker's controls
    "Condition on": "条件の対象",
    "Customer attributes": "顧客の属性",
    "Orders and products": "注文と商品",
    "Operator": "演算子",
    "has at least one matching": "該当するものがある",
    "has none matching": "該当するものがない",
    "In which order": "何回目の注文で",
    "any order": "どの注文でも",
    "the 1st order": "初回注文",
    "the 2nd order": "2回目の注文",
    "the 3rd order": "3回目の注文",
    "the 2nd or a later order": "2回目以降の注文",
    "Add a detail": "条件の詳細を追加",
    "Combine with the query": "条件のつなぎ方",
    "AND: every condition must hold": "AND: すべての条件を満たす",
    "OR: either the last condition or this one": "OR: 直前の条件かこの条件のどちらか",
    "Read as": "解釈した条件",
    "Text in quotes is matched exactly as written, and this is in full-width letters":
        "引用符内の文字はそのまま照合されます。次の値は全角で書かれています",
    "Suggestions": "候補",
    # segment page: the chosen day and journeys
    "Show": "表示",
    "Latest day": "最新日",
    "That day is outside this segment's history; showing the last computed day.":
        "その日はこのセグメントの履歴の範囲外です。最後に計算した日を表示しています。",
    "No 2nd orders yet.": "2回目の注文はまだありません。",
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
    # segment names and keys (builder)
    "Key": "キー",
    "Used in the address, Shopify tags and the CLI; left empty, it is made from the name.":
        "URL・Shopifyタグ・CLIで使う識別子です。空欄なら名前から作られます。",
    "e.g. Serum repeaters": "例: 美容液リピーター",
    "Give the segment a name: one line of text, at most 100 characters.":
        "セグメント名を入力してください（1行・100文字以内）。",
    "A segment with this name already exists. Choose another name.":
        "この名前のセグメントはすでにあります。別の名前にしてください。",
    "A key may use letters a-z, digits, '-', '_' and '.', and starts with a letter or digit.":
        "キーに使えるのは半角英数字と「-」「_」「.」で、英数字で始めます。",
    "This key is already used by another segment. Choose another key.":
        "このキーは別のセグメントが使っています。別のキーにしてください。",
    "No sample while the query has an error: fix it to see matching customers.":
        "条件にエラーがあるためサンプルはありません。条件を直すと該当する顧客が表示されます。",
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
