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
    # settings: Shopify connection, daily run, language, users
    "Access scopes": "アクセススコープ",
    "Access token": "アクセストークン",
    "Add a user": "ユーザーを追加",
    "Add user": "追加",
    "Admin API access token": "Admin API アクセストークン",
    "Admin API version": "Admin API バージョン",
    "Change password": "パスワードを変更",
    "Check and connect": "確認して接続",
    "Choose Japanese or English.": "日本語か英語を選んでください。",
    "Connected": "接続済み",
    "Connected, but access scopes are missing":
        "接続済み（不足しているアクセススコープがあります）",
    "Current password": "現在のパスワード",
    "Daily run": "毎日の実行",
    "Default language": "既定の言語",
    "Enter the shop domain and the access token.":
        "ストアのドメインとアクセストークンを入力してください。",
    "Enter the shop's domain, for example my-store.myshopify.com.":
        "ストアのドメインを入力してください（例: my-store.myshopify.com）。",
    "Enter the time as HH:MM (24-hour), for example 04:00.":
        "時刻は24時間制の HH:MM で入力してください（例: 04:00）。",
    "For browsers that ask for neither language":
        "日本語・英語のどちらも指定しないブラウザーでの表示",
    "From the environment variable": "環境変数から読み込み",
    (
        "In Shopify admin: Settings → Apps and sales channels → Develop apps → your app → API"
        " credentials."
    ):
        (
            "Shopify 管理画面の「設定 → アプリと販売チャネル → アプリを開発 → 対象のアプリ → "
            "API 認証情報」で確認できます。"
        ),
    "Kept in the workspace's secrets file": "ワークスペースの secrets ファイルに保存",
    "New password": "新しいパスワード",
    (
        "Not connected. Connect to read orders and customers from the Shopify Admin API and "
        "push segments back as customer tags."
    ):
        (
            "未接続です。接続すると Shopify Admin API から注文と顧客を読み込み、セグメントを"
            "顧客タグとして Shopify に反映できます。"
        ),
    "Orders file": "注文ファイル",
    "Parquet ledger files": "Parquet 台帳ファイル",
    "Passwords need at least {minimum} characters.":
        "パスワードは{minimum}文字以上にしてください。",
    "Reconnect": "再接続",
    "Remove this user?": "このユーザーを削除しますか？",
    "Run the daily pipeline automatically while the server runs":
        "サーバーの起動中、毎日の集計を自動で実行する",
    "Saved.": "保存しました。",
    "Shop domain": "ストアのドメイン",
    "Shopify": "Shopify",
    "Shopify Admin API": "Shopify Admin API",
    "Shopify CSV exports": "Shopify の CSV エクスポート",
    "Shopify could not be reached": "Shopify に接続できません",
    "Shopify could not be reached. Check the shop domain, or try again in a few minutes.":
        (
            "Shopify に接続できませんでした。ストアのドメインを確認するか、数分後にもう一度お"
            "試しください。"
        ),
    (
        "Shopify did not accept this access token. Copy it again from the app's API "
        "credentials in Shopify admin."
    ):
        (
            "Shopify がこのアクセストークンを受け付けませんでした。Shopify 管理画面のアプリの"
            " API 認証情報からもう一度コピーしてください。"
        ),
    "Shopify refused the connection:": "Shopify が接続を拒否しました:",
    "The access token is not accepted": "アクセストークンが受け付けられません",
    "The app was uninstalled from the shop": "アプリがストアからアンインストールされました",
    "The current password is wrong.": "現在のパスワードが違います。",
    (
        "The token lacks these access scopes: {missing}. Tick them in the app's Admin API "
        "access scopes in Shopify admin, reinstall the app and enter its new token."
    ):
        (
            "このトークンには次のアクセススコープがありません: {missing}。Shopify 管理画面で"
            "アプリの Admin API アクセススコープにチェックを入れ、アプリを再インストールして"
            "新しいトークンを入力してください。"
        ),
    "There is no such user.": "そのユーザーは存在しません。",
    "Time of day": "実行時刻",
    "Users": "ユーザー",
    "You cannot remove yourself; ask another user to remove you.":
        "自分自身は削除できません。他のユーザーに削除を依頼してください。",
    "Your password": "あなたのパスワード",
    "customers:": "顧客:",
    "granted": "付与済み",
    "missing": "不足",
    "one row per order": "1行1注文",
    "one row per order line": "1行1明細",
    "you": "あなた",
    "{email} already has an account.": "{email} はすでに登録されています。",
    "{email} is not an email address.": "{email} はメールアドレスではありません。",
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
