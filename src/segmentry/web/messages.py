"""Message catalogs: the English text is the message id (as in gettext); ``JA`` maps each id to
Japanese. A language without an entry falls back to the English id.

Why a Python dict rather than Babel ``.po``/``.mo`` files: two languages and a couple of
hundred short strings; no compile step in the build or the wheel; the catalog is type-checked,
and ``tests/web/test_messages.py`` fails when a template uses an id the Japanese catalog lacks.
Moving to ``.po`` files later is mechanical (the ids are already the English text).

>>> translator("ja")("Segments"), translator("en")("Segments"), translator("ja")("unknown id")
('セグメント', 'Segments', 'unknown id')

Errors (:mod:`segmentry.core.errors`) carry an English template and params; :func:`error_text`
shows them in the user's language, with hints about the web in place of hints about the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from segmentry.core.errors import ERROR_FIELDS, SegmentryError, Text, stored_error

__all__ = ["BY_CODE", "EN", "ERRORS", "JA", "LANGUAGES", "WEB_HINTS", "error_body", "error_text",
           "stored_error_body", "translator"]

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
    # CSV downloads (column headers in the user's language)
    "Download daily metrics (CSV)": "日次指標をCSVでダウンロード",
    "Customer ID": "顧客ID",
    "Last name": "姓",
    "First name": "名",
    "Phone": "電話番号",
    "Number of orders": "注文回数",
    "Amount spent": "累計購入金額",
    "First order date": "初回購入日",
    "Last order date": "最終購入日",
    "Tags": "タグ",
    "Email consent": "メール配信の同意",
    "LINE linked": "LINE連携",
    "Average orders": "平均注文回数",
    "Purchase interval (days)": "購入間隔（日）",
    "Revenue": "売上",
    "Orders that day": "当日の注文数",
    "yes": "はい",
    "no": "いいえ",
    # date formats of chart axes (d3-time-format patterns)
    "%b %-d": "%-m月%-d日",
    "%b %Y": "%Y年%-m月",
    "%-d %b %Y": "%Y年%-m月%-d日",
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
    # background jobs, schedule and tag sync (issue 8, items 9-10)
    "Next scheduled run": "次回の定時実行",
    "The daily run is switched off.": "毎日の定時実行はオフです。",
    "This server does not run the daily schedule.": "このサーバーは定時実行を行いません。",
    "Tag sync": "タグ連携",
    "Clearing the tag": "タグの解除",
    "Queued": "待機中",
    "Reading the sources": "データ取り込み",
    "Updating order facts": "注文データの更新",
    "Evaluating segments": "セグメント判定",
    "Computing metrics": "指標の計算",
    "Saving the results": "結果の保存",
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
    # renaming a key, recomputing history
    "Changing the key changes the segment's address; its history, Shopify tag and the segments "
    "that use it are kept.":
        "キーを変えるとセグメントのURLが変わります。履歴・Shopifyタグ・このセグメントを条件に使う"
        "他のセグメントはそのまま引き継がれます。",
    "Recompute history": "履歴を再計算",
    "Recomputing builds the whole daily history again from the data as it is now, e.g. after "
    "customers or orders were imported late.":
        "再計算すると、いまのデータ（後から取り込んだ顧客や注文も含む）で日ごとの履歴をすべて"
        "作り直します。",
    "Recomputing history": "履歴の再計算",
    "Computing the daily history": "日ごとの履歴を計算中",
    # --- webhooks (webhooks)
    "Shopify webhooks": "Shopify Webhook",
    "Waiting to be applied": "反映待ち",
    "Retrying (warehouse busy)": "再試行待ち（データベース使用中）",
    "Failed": "失敗",
    "Applied": "反映済み",
    "Deliveries wait while the warehouse is busy and are tried again automatically; nothing is "
    "lost.": "データベースが使用中の間は受信した通知を保管し、自動で再試行します（失われません）。",
    "These deliveries could not be applied because their content is not usable:":
        "次の通知は内容が不正なため反映できませんでした:",
    "Topic": "トピック",
    "Webhook ID": "Webhook ID",
    "Received": "受信日時",
    "Try the failed deliveries again": "失敗した通知を再試行",
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


# ---------------------------------------------------------------- errors
# The errors of :mod:`segmentry.core.errors` carry an English template and params; the web shows
# them in the request's language: ``ERRORS`` maps each template (and each word a template's
# params carry, such as "a whole number") to Japanese. ``tests/web/test_messages.py`` finds every
# template the web can raise and fails when one is missing here.
ERRORS: dict[str, str] = {
    # warehouses and settings
    "Cannot compact the warehouse: its write-ahead log {wal} was not folded in.":
        "ウェアハウスを再構成できません：書き込みログ {wal} が反映されていません。",
    "Cannot compact the warehouse: {files} still open in this process.":
        "ウェアハウスを再構成できません：{files} がこのプロセスでまだ開かれています。",
    "Shopify's file storage refused the upload: HTTP {status}: {text}":
        "Shopify のファイル保存先がアップロードを拒否しました：HTTP {status}：{text}",
    "The change would make {path} invalid: {problem}":
        "この変更では {path} が不正になります：{problem}",
    "The warehouse URL {url} names no engine segmentry supports.":
        "ウェアハウスの URL {url} は segmentry が対応するエンジンを指していません。",
    "The {engine} engine is not supported.": "{engine} エンジンには対応していません。",
    "Use duckdb:///path/to/warehouse.duckdb or postgresql://user@host/db.":
        "duckdb:///path/to/warehouse.duckdb か postgresql://user@host/db を指定してください。",
    # lists of words
    "{first} or {second}": "{first} または {second}",
    "{first}, {rest}": "{first}、{rest}",
    # segments
    "There is no segment named {name!r}.": "「{name}」というセグメントはありません。",
    "Did you mean {guess!r}?": "「{guess}」のことですか？",
    "A segment named {name!r} already exists.": "「{name}」というセグメントはすでにあります。",
    "Segment {name!r} is used by {users}.":
        "セグメント「{name}」は {users} の条件で使われています。",
    "Edit or remove those segments first.": "先にそれらのセグメントを編集または削除してください。",
    "Segment {name!r} is computed through {through}; {day} is in the future for it.":
        "セグメント「{name}」は {through} まで計算済みです。{day} はまだ計算されていません。",
    "Segment {name!r} has not been computed yet.": "セグメント「{name}」はまだ計算されていません。",
    "Segment {name!r} has history from {start} to {through}; {day} is outside it.":
        "セグメント「{name}」の履歴は {start} から {through} までです。{day} はその範囲外です。",
    "Segment {name!r} is already computed through {through}; "
    "cannot run for the earlier day {day}.":
        "セグメント「{name}」は {through} まで計算済みのため、"
        "それより前の {day} は実行できません。",
    # runs, workspace, engine
    "The run for {day} failed: {detail}": "{day} の実行に失敗しました: {detail}",
    "The workspace {folder} is busy: {who}.": "ワークスペースは使用中です（{who}）。",
    "The warehouse {url} is open for writing in another process.":
        "分析データベースは別の処理が書き込み中です。",
    "Cannot open the warehouse {url}: {text}": "分析データベースを開けません: {text}",
    "Transactions are not supported on the {engine} engine.":
        "{engine} エンジンはトランザクションに対応していません。",
    # accounts and forms
    "{email!r} is not an email address.": "「{email}」はメールアドレスではありません。",
    "Wrong email or password.": "メールアドレスまたはパスワードが違います。",
    "There is no user {email!r}.": "ユーザー「{email}」はいません。",
    "This form has expired or did not come from segmentry.":
        "このフォームは期限切れか、segmentry から送信されたものではありません。",
    "Reload the page and try again.": "ページを再読み込みして、もう一度お試しください。",
    "This form has expired.": "このフォームは期限切れです。",
    "Reload the page and sign in again.": "ページを再読み込みして、もう一度ログインしてください。",
    "A folder name is at most 100 characters on one line.":
        "フォルダ名は1行・100文字以内にしてください。",
    "There is no such token.": "そのトークンはありません。",
    # HTTP and unexpected errors (web/app.py)
    "This page does not exist.": "このページは存在しません。",
    "Check the address, or go back to the overview.":
        "アドレスを確認するか、概要ページに戻ってください。",
    "This address does not accept {method} requests.":
        "このアドレスは {method} リクエストを受け付けません。",
    "The request was refused ({status}).": "リクエストは受け付けられませんでした（{status}）。",
    "{where}: {problem}": "「{where}」の値が正しくありません（{problem}）。",
    "Something went wrong on our side.": "サーバー側で問題が発生しました。",
    "The error was logged; try again, or report it with the time it happened.":
        "エラーは記録されました。もう一度お試しいただくか、発生時刻を添えてご報告ください。",
    "Sign in, or send an API token as `Authorization: Bearer <token>`.":
        "ログインするか、APIトークンを Authorization: Bearer <token> ヘッダーで送ってください。",
    "Create a token on the Settings page.": "APIトークンは「設定」ページで作成できます。",
    # hints for the web (WEB_HINTS below)
    "Open the Segments page to see every segment.":
        "「セグメント」ページですべてのセグメントを確認できます。",
    "Press “Run now” on the Runs page, or wait for the daily run.":
        "「実行履歴」ページの「今すぐ実行」を押すか、日次の実行をお待ちください。",
    "Wait for it to finish (see the Runs page); nothing was changed.":
        "終了までお待ちください（「実行履歴」ページで確認できます）。何も変更されていません。",
    "Another segmentry process is writing; wait for it to finish and try again.":
        "別の segmentry の処理が書き込み中です。終わるのを待って、もう一度お試しください。",
    "Ask the person who runs segmentry to add this user.":
        "segmentry の管理者にこのユーザーの追加を依頼してください。",
    "Press “Recompute history” on the segment's page, or choose a later day.":
        "セグメントのページで「履歴を再計算」を押すか、後の日付を選んでください。",
    "The condition picker lists the common attributes.":
        "よく使う属性は「条件を追加」から選べます。",
    # the query language: messages and hints
    "unexpected {token} {where}: expected {expected}":
        "{where}{token} は使えません。ここには {expected} が必要です",
    "expected {expected} after {previous} but found the end of the query":
        "{previous} の後に {expected} が必要ですが、条件がそこで終わっています",
    "the query is empty: expected a condition such as number_of_orders >= 2":
        "条件が空です。number_of_orders >= 2 のような条件を入力してください",
    "unexpected character {char!r}: expected {expected}":
        "文字「{char}」は使えません。ここには {expected} が必要です",
    "after {previous}": "{previous} の後の ",
    "at the start of the query": "先頭の ",
    "unclosed string: the closing quote (') is missing":
        "文字列が閉じられていません。閉じる引用符（'）がありません",
    "Close the string with '; write \\' for a quote inside it.":
        "文字列は ' で閉じます。文字列の中の引用符は \\' と書きます。",
    "something else": "別の語句",
    "a name": "属性名",
    "a value": "値",
    "an operator such as =, >=, BETWEEN, CONTAINS or MATCHES":
        "=・>=・BETWEEN・CONTAINS・MATCHES などの演算子",
    "true or false": "true または false",
    "the end of the query": "条件の終わり",
    "Strings use single quotes: 'like this'.": "文字列は 'このように' 一重引用符で囲みます。",
    "Combine conditions with AND.": "条件をつなぐときは AND を使います。",
    "Combine conditions with OR.": "どれかに当てはまる条件は OR でつなぎます。",
    "Compare with a single '='.": "比較には「=」を1つだけ使います。",
    "A date offset is written -30d (30 days ago), -2w, -3m, -1y or 30_days_ago.":
        "相対日付は -30d（30日前）・-2w・-3m・-1y・30_days_ago のように書きます。",
    "{text} is not a calendar date": "{text} は存在しない日付です",
    "{text} is out of range: dates run from {earliest} to {latest}":
        "{text} は範囲外です。日付は {earliest} から {latest} までです",
    "{value} reaches back more than 100 years; the furthest a relative date reaches is "
    "{furthest}":
        "{value} は100年より前を指しています。相対日付でさかのぼれるのは {furthest} までです",
    "For an older day, write the date itself: 1990-01-01.":
        "それより前の日は 1990-01-01 のように日付そのものを書きます。",
    "{value} is out of range: {name} takes values from {low} to {high}":
        "{value} は範囲外です。{name} の値は {low} から {high} までです",
    "text in quotes cannot hold the control character {char}":
        "引用符の中の文字列に制御文字 {char} は使えません",
    "Remove it: tags, names and codes never hold control characters.":
        "削除してください。タグ・名前・コードに制御文字は含まれません。",
    "this query is {length:,} characters long; at most {limit:,} are allowed":
        "この条件は {length:,} 文字あります。{limit:,} 文字までです",
    "Split it into segments that each hold a part.":
        "いくつかのセグメントに分けてください。",
    "this query nests NOT and parentheses {depth} deep; at most {limit} levels are allowed":
        "この条件は NOT と括弧が {depth} 段重なっています。{limit} 段までです",
    "with the segments it uses, this query nests NOT, parentheses and segment references "
    "{depth} deep; at most {limit} levels are allowed":
        "参照するセグメントを含めると、この条件は NOT・括弧・セグメント参照が {depth} 段重なって"
        "います。{limit} 段までです",
    "Write it with fewer levels: NOT NOT a is a, and a chain a OR b OR c needs no parentheses.":
        "段を減らしてください。NOT NOT a は a と同じで、"
        "a OR b OR c のような並びに括弧は要りません。",
    "this query has {count:,} conditions; at most {limit:,} are allowed":
        "この条件には {count:,} 個の条件があります。{limit:,} 個までです",
    "with the segments it uses, this query has more than {limit:,} conditions":
        "参照するセグメントを含めると、この条件には {limit:,} 個を超える条件があります",
    "A list counts as one condition: products_purchased(id: (1, 2, 3)) = true.":
        "値の並びは1つの条件と数えます: products_purchased(id: (1, 2, 3)) = true",
    "Dates are written YYYY-MM-DD, e.g. 2024-05-01.":
        "日付は YYYY-MM-DD（例: 2024-05-01）の形式で書きます。",
    "{name} is a function, not an attribute": "{name} は属性ではなく関数です",
    "Write {name}(tag: 'serum') = true or {name} MATCHES (tag = 'serum').":
        "{name}(tag: 'serum') = true または {name} MATCHES (tag = 'serum') のように書きます。",
    "unknown attribute {name!r}": "「{name}」という属性はありません",
    "{name} is an attribute, not a function": "{name} は関数ではなく属性です",
    "Compare it directly, e.g. {name} = ….": "{name} = … のように直接比較します。",
    "unknown function {name!r}": "「{name}」という関数はありません",
    "The functions are {functions}.": "使える関数: {functions}。",
    "{function} has no argument {name!r}": "{function} に「{name}」という引数はありません",
    "Its arguments are {arguments}.": "使える引数: {arguments}。",
    "a list of values cannot be used with {op} for {name}":
        "{name} の値のリストは {op} と一緒には使えません",
    "A list means 'any of these'; use it with = (or != for 'none of these').":
        "リストは「いずれか」を意味します。= と使います（「どれでもない」は !=）。",
    "{operator} cannot be used with {name}, which is {what}":
        "{name} は{what}なので {operator} は使えません",
    "{name} takes {shown}.": "{name} に使える演算子: {shown}。",
    "{name} is {what}; {problem}": "{name} は{what}です。{problem}",
    "{value} is not a whole number": "{value} は整数ではありません",
    "{value} is {words}": "{value} は{words}です",
    "Write {how}.": "{how}で書いてください。",
    "{value!r} is not a value of {name}": "「{value}」は {name} の値ではありません",
    "Its values are {values}.": "使える値: {values}。",
    "BETWEEN {low} AND {high} matches nothing: the first value is after the second":
        "BETWEEN {low} AND {high} は何にも当てはまりません（最初の値が後の値より大きい）",
    "Write the smaller (earlier) value first: BETWEEN {high} AND {low}.":
        "小さい（早い）値を先に書きます: BETWEEN {high} AND {low}。",
    "segments refer to each other in a cycle: {cycle}":
        "セグメントが循環して参照しています: {cycle}",
    "Remove one of these references; a segment cannot contain itself.":
        "どれかの参照を外してください。セグメントは自分自身を含められません。",
    "there is no segment named {name!r}": "「{name}」というセグメントはありません",
    "Segment names must be written exactly as defined (case included).":
        "セグメント名は大文字・小文字も含めて定義どおりに書きます。",
    "{place}: {detail}": "{place}: {detail}",
    "{hint}": "{hint}",
    "in segment {segment!r}": "セグメント「{segment}」内",
    "in segment {segment!r} (reached through {chain})": "セグメント「{segment}」内（{chain} 経由）",
    "in segment {segment!r}, line {line}, column {column} of its query":
        "セグメント「{segment}」の条件 {line}行{column}列",
    "in segment {segment!r} (reached through {chain}), line {line}, column {column} of its query":
        "セグメント「{segment}」（{chain} 経由）の条件 {line}行{column}列",
    # kinds of values (the resolver's words)
    "a whole number": "整数",
    "a whole number such as 3": "3 のような整数",
    "a number": "数値",
    "a number such as 2.5": "2.5 のような数値",
    "an amount of money": "金額",
    "an amount such as 5000 or 49.90": "5000 や 49.90 のような金額",
    "a date": "日付",
    "a date: 2024-05-01, -30d, -2w, -3m, -1y, 30_days_ago, today":
        "2024-05-01・-30d・-2w・-3m・-1y・30_days_ago・today のような日付",
    "a text value": "文字列",
    "text in single quotes, such as 'instagram'": "'instagram' のように一重引用符で囲んだ文字列",
    "one of a fixed set of values": "決まった値のどれか",
    "one of its values in single quotes": "一重引用符で囲んだ決まった値",
    "a list of text values": "文字列のリスト",
    "text in single quotes, such as 'vip'": "'vip' のように一重引用符で囲んだ文字列",
    "the segments a customer is in": "顧客が属するセグメント",
    "a segment name in single quotes": "一重引用符で囲んだセグメント名",
    # segment names and keys
    "{key!r} is not a usable segment key.": "「{key}」はセグメントのキーに使えません。",
    "A key is used in URLs and Shopify tags: use letters a-z, digits, '-', '_' or '.', "
    "starting with a letter or digit, at most {limit} characters.":
        "キーはURLとShopifyタグに使われます。半角英小文字・数字・「-」「_」「.」を使い、"
        "英数字で始め、{limit}文字以内にしてください。",
    "A segment needs a name.": "セグメントには名前が必要です。",
    "Give it a name people will recognise, e.g. 美容液リピーター or Serum repeaters.":
        "見てわかる名前を付けてください（例: 美容液リピーター）。",
    "The segment name is {length} characters long; at most {limit} fit.":
        "セグメント名が{length}文字あります。{limit}文字以内にしてください。",
    "Shorten it; the description can say more.": "短くしてください。詳しくは説明欄に書けます。",
    "The segment name contains a line break or another invisible character.":
        "セグメント名に改行などの見えない文字が含まれています。",
    "Use one line of visible text.": "1行の文字で入力してください。",
    "A segment with the key {key!r} already exists.": "キー「{key}」のセグメントはすでにあります。",
    "Choose another key, or change that segment instead.":
        "別のキーにするか、そのセグメントを編集してください。",
    "Choose another name; each segment's name must be different.":
        "別の名前にしてください。セグメント名は重複できません。",
    # query input (full-width text, amounts) and suggestions
    "Strings use straight single quotes: 'like this'.":
        "文字列は半角のシングルクォートで囲みます: 'このように'。",
    "Write an amount as a plain number: ¥10,000 or 10,000円 as 10000.":
        "金額は数字だけで書きます: ¥10,000 や 10,000円 は 10000。",
    "Write numbers without thousands separators: 10000, not 10,000.":
        "数字は桁区切りなしで書きます: 10,000 ではなく 10000。",
    "There are no values to suggest for this name.": "この項目には候補になる値がありません。",
    "Values are suggested for text attributes and arguments.":
        "値の候補は文字列の項目と引数で表示されます。",
    # accounts and settings
    "Passwords need at least {minimum} characters.":
        "パスワードは{minimum}文字以上にしてください。",
    "The current password is wrong.": "現在のパスワードが違います。",
    "There is no such user.": "そのユーザーは存在しません。",
    "You cannot remove yourself.": "自分自身は削除できません。",
    "Ask another user to remove you.": "他のユーザーに削除を依頼してください。",
    "{email} already has an account.": "{email} はすでに登録されています。",
    "{shop!r} is not a shop domain like my-store.myshopify.com.":
        "「{shop}」はストアのドメイン（例: my-store.myshopify.com）ではありません。",
    # background jobs
    "A background job ({kind}, #{id}) is {status}; one job runs at a time.":
        "バックグラウンドの処理（{kind}、#{id}）が{status}です。処理は一度に一つずつ実行されます。",
    "Wait for it to finish; its progress is on the Runs page.":
        "終わるまでお待ちください。進み具合は「実行履歴」ページで確認できます。",
    "There is no job {id} (this server remembers its last 20).":
        "処理 {id} はありません（このサーバーが覚えているのは直近の20件です）。",
    "a true/false value": "true/false の値",
    "a list": "リスト",
    # renamed segment keys
    "Segment {name!r} has a new key: {key!r}.":
        "セグメント「{name}」のキーは「{key}」に変わりました。",
    "Its page is now at /segments/{key}.": "このセグメントのページは /segments/{key} です。",
    # stored failures: runs, background jobs, tag syncs
    "{failed} write(s) refused by Shopify": "Shopifyが {failed} 件の書き込みを拒否しました。",
    "interrupted (process ended during the run)": "中断されました（実行中に処理が終了しました）。",
    "the daily run": "日次の実行",
    "a tag sync": "タグ連携",
    "clearing a tag": "タグの削除",
    "waiting to start": "開始待ち",
    "under way": "実行中",
    "The job stopped on an unexpected error: {detail}":
        "処理が予期しないエラーで止まりました: {detail}",
    # source files (the run's ingest stage; see src/segmentry/connectors)
    "{path} does not exist.": "ファイル {path} がありません。",
    "{path} is not a folder.": "{path} はフォルダではありません。",
    "{path} is not {wanted} (judging by its header row).":
        "{path} は{wanted}ではありません（見出し行から判断しました）。",
    "a Shopify orders export": "Shopifyの注文エクスポート",
    "a Shopify customers export": "Shopifyの顧客エクスポート",
    "Export from Shopify admin (Orders or Customers → Export → CSV), or import the file as a "
    "generic CSV with a column mapping.":
        "Shopify管理画面（注文 または 顧客 → エクスポート → CSV）から書き出してください。"
        "または、列の対応づけを指定して汎用CSVとして取り込みます。",
    "A parquet source is a folder of <table>.parquet files in canonical columns; for a single "
    "Parquet file of orders use kind = 'generic'.":
        "parquet ソースは標準の列を持つ <table>.parquet ファイルのフォルダです。"
        "注文の Parquet ファイル1つなら kind = 'generic' にします。",
    "{file} is empty.": "{file} は空です。",
    "{file}: line {line} is not valid CSV: {problem}":
        "{file} の {line} 行目がCSVとして正しくありません（{problem}）。",
    "Cannot read {file}: {problem}": "{file} を読めません（{problem}）。",
    "{file}:{line}: byte 0x{byte} (byte {position} of the line) is not valid {encoding}; "
    "nothing was imported.":
        "{file} の {line} 行目の {position} バイト目（0x{byte}）は {encoding} として"
        "正しくありません。何も取り込んでいません。",
    "The file is read as UTF-8 (its text is UTF-8). Correct or delete that byte (part of a "
    "damaged character), or, if the whole file is Shift_JIS, ask whoever set up segmentry to "
    "set encoding = 'cp932' for this source.":
        "ファイルは UTF-8 として読んでいます（本文が UTF-8 のため）。そのバイト（壊れた文字の"
        "一部）を直すか削除してください。ファイル全体が Shift_JIS なら、このソースに "
        "encoding = 'cp932' を設定するよう segmentry の管理者に依頼してください。",
    "The file is read as Shift_JIS (most of its text is not UTF-8). Save it as CSV UTF-8, or "
    "ask whoever set up segmentry to set encoding = 'utf-8' for this source if it is UTF-8.":
        "ファイルは Shift_JIS として読んでいます（本文の大半が UTF-8 ではないため）。"
        "「CSV UTF-8」形式で保存し直すか、UTF-8 のファイルなら、このソースに "
        "encoding = 'utf-8' を設定するよう segmentry の管理者に依頼してください。",
    "Check the source's encoding setting (ask whoever set up segmentry), or remove it to have "
    "the encoding chosen from the file.":
        "ソースの encoding の設定を確認してください（segmentry の管理者に依頼してください）。"
        "設定を外すとファイルの内容から選びます。",
    "Cannot read {file} as Parquet: {problem}":
        "{file} を Parquet として読めません（{problem}）。",
    "The {table} rows cannot be stored: {problem}":
        "{table} の行を保存できません（{problem}）。",
    "{file}: {count} problem(s) in the header; nothing was imported.":
        "{file} の見出し行に {count} 件の問題があります。何も取り込んでいません。",
    "{file}: {count} problem(s) in the columns; nothing was imported.":
        "{file} の列に {count} 件の問題があります。何も取り込んでいません。",
    "{file}: {count} problem(s) in the file; nothing was imported.":
        "{file} に {count} 件の問題があります。何も取り込んでいません。",
    "{file}: {count} problem(s) in the orders export; nothing was imported.":
        "注文エクスポート {file} に {count} 件の問題があります。何も取り込んでいません。",
    "{file}: {count} problem(s) in the customers export; nothing was imported.":
        "顧客エクスポート {file} に {count} 件の問題があります。何も取り込んでいません。",
    "Orders": "注文",
    "Customers": "顧客",
    "Unknown canonical column(s) in the mapping: {columns}.":
        "列の対応づけに不明な標準列があります: {columns}。",
    "Canonical columns: {canonical}.": "標準列: {canonical}。",
    "Line columns ({columns}) in a file of one row per order.":
        "1行1注文のファイルに明細の列（{columns}）があります。",
    "No ledger Parquet files in {folder}.": "{folder} に台帳の Parquet ファイルがありません。",
    "Expected files named {files}.": "必要なファイル名: {files}。",
    "{path} holds rows of shop(s) {shops}, not of this workspace's shop {shop!r}.":
        "{path} はショップ {shops} の行を含み、このワークスペースのショップ「{shop}」の"
        "ものではありません。",
    "Set shop.id in segmentry.toml to the shop the files belong to.":
        "segmentry.toml の shop.id をファイルのショップに合わせてください。",
    "Fix these rows in the file; the next run reads it again.":
        "ファイルのこれらの行を直してください。次回の実行で読み直します。",
    "Fix these rows in the file; the next run reads it again. If the file has one row per "
    "order line, ask whoever set up segmentry to mark this source as one row per order line "
    "(rows = 'line') and map its line columns (sku, quantity, unit_price).":
        "ファイルのこれらの行を直してください。次回の実行で読み直します。"
        "1行が注文明細1件のファイルなら、このソースを明細単位（rows = 'line'）にして"
        "明細の列（sku・quantity・unit_price）を対応づけるよう、segmentry の管理者に"
        "依頼してください。",
    "Columns are found by their header names: export the file again from the Shopify admin "
    "({page} → Export) and keep its header row as it is; the next run reads it again.":
        "列は見出しの名前で探します。Shopify管理画面（{page} → エクスポート）から書き出し直し、"
        "見出し行は編集しないでください。次回の実行で読み直します。",
    "Name the file's columns in the source's mapping (ask whoever set up segmentry). "
    "The file's columns: {columns}.":
        "ソースの列の対応づけでファイルの列名を指定してください（segmentry の管理者に"
        "依頼してください）。ファイルの列: {columns}。",
    "Name the file's columns in the source's mapping (ask whoever set up segmentry). "
    "The file's columns: {columns}. A file with one row per order and no line columns needs "
    "rows = 'order' on the source.":
        "ソースの列の対応づけでファイルの列名を指定してください（segmentry の管理者に"
        "依頼してください）。ファイルの列: {columns}。明細の列がない1行1注文のファイルは"
        "ソースに rows = 'order' が必要です。",
    "Mark this source as one row per order line (rows = 'line') for a file with one row per "
    "order line.":
        "1行が注文明細1件のファイルなら、このソースを明細単位（rows = 'line'）にしてください。",
    # the workspace's settings and lock
    "No {file} in {workspace}.": "{workspace} に {file} がありません。",
    "{path} is not valid TOML: {problem}": "{path} は正しいTOMLではありません（{problem}）。",
    "{path}: {problems}": "設定ファイル {path} に誤りがあります: {problems}",
    "process {pid} on {host} running `{command}` since {since} UTC":
        "{host} のプロセス {pid} が {since} UTC から「{command}」を実行中",
    # Shopify
    "Shopify rejected the access token for {shop} (HTTP 401: invalid, revoked or expired).":
        "Shopifyが {shop} のアクセストークンを受け付けませんでした"
        "（HTTP 401: 無効・取り消し・期限切れ）。",
    "Create or reveal an Admin API access token in Shopify admin (Settings → Apps and sales "
    "channels → Develop apps → your app → API credentials), then enter it under Reconnect on "
    "the Settings page.":
        "Shopify管理画面（設定 → アプリと販売チャネル → アプリを開発 → 対象のアプリ → "
        "API認証情報）でAdmin APIのアクセストークンを作成または表示し、「設定」ページの"
        "「再接続」で入力してください。",
    "Shopify answered HTTP {status}: {text}": "ShopifyがHTTP {status} を返しました: {text}",
    "Shopify ({shop}) is not answering: {why}, {attempts} attempts.":
        "Shopify（{shop}）が応答しません: {why}（{attempts} 回試しました）。",
    "connection problem ({problem})": "接続の問題（{problem}）",
    "an answer that is not JSON": "JSONではない応答",
    "Shopify or the network is having trouble; run the sync again later — it resumes where it "
    "stopped.":
        "Shopifyかネットワークに問題があります。しばらくしてから同期し直してください。"
        "止まったところから再開します。",
    "Shopify kept throttling requests to {shop}.":
        "Shopifyが {shop} へのリクエストを制限し続けました。",
    "Another app may be using this shop's API budget; try again later.":
        "別のアプリがこのショップのAPI枠を使っている可能性があります。しばらくしてから"
        "お試しください。",
    "Shopify: {detail}": "Shopify: {detail}",
    "Shopify denied access: {detail}": "Shopifyがアクセスを拒否しました: {detail}",
    "Give the app {needed} (app → Configuration → Admin API scopes), reinstall it and "
    "reconnect.":
        "アプリに {needed} を与え（アプリ → 設定 → Admin APIのアクセススコープ）、"
        "再インストールして再接続してください。",
    "the missing scope": "不足しているスコープ",
    "Shopify GraphQL error: {detail}": "ShopifyのGraphQLエラー: {detail}",
    "The access token for {shop} lacks these scopes: {scopes}.":
        "{shop} のアクセストークンに次のスコープがありません: {scopes}。",
    "In Shopify admin open the app → Configuration → Admin API access scopes, tick them, save, "
    "reinstall the app and use the new token. read_all_orders (orders older than 60 days) "
    "needs Shopify's approval for public apps.":
        "Shopify管理画面でアプリ → 設定 → Admin APIのアクセススコープを開いてチェックを入れて"
        "保存し、アプリを再インストールして新しいトークンを使ってください。"
        "read_all_orders（60日より前の注文）は公開アプリではShopifyの承認が必要です。",
    "{path} can be read by other users; segmentry will not use the secrets in it.":
        "{path} は他のユーザーも読めるため、segmentry はその中の接続情報を使いません。",
    "Ask whoever runs segmentry to make {path} readable by its owner only.":
        "{path} を所有者だけが読めるようにするよう、segmentry の管理者に依頼してください。",
    "No Shopify access token for {shop}.": "{shop} のShopifyアクセストークンがありません。",
    "Enter the access token for {shop} under Reconnect on the Settings page.":
        "「設定」ページの「再接続」で {shop} のアクセストークンを入力してください。",
    "The segmentry app was uninstalled from {shop}.":
        "segmentry アプリが {shop} からアンインストールされました。",
    "Install the app again, then enter its new token under Reconnect on the Settings page.":
        "アプリをインストールし直し、新しいトークンを「設定」ページの「再接続」で"
        "入力してください。",
    "No access token given.": "アクセストークンが入力されていません。",
    "Enter the access token under Reconnect on the Settings page.":
        "「設定」ページの「再接続」でアクセストークンを入力してください。",
    "This workspace is not connected to Shopify.":
        "このワークスペースはShopifyに接続されていません。",
    "Connect the shop on the Settings page.": "「設定」ページでショップに接続してください。",
    "Shopify refused {failed} tag removal(s); the binding of {segment!r} is kept.":
        "Shopifyが {failed} 件のタグ削除を拒否しました。「{segment}」のタグ連携はそのまま"
        "残しています。",
    "Shopify refused the bulk query: {detail}": "Shopifyが一括クエリを拒否しました: {detail}",
    "Another bulk query may be running for this app; wait for it and retry.":
        "このアプリの別の一括クエリが実行中かもしれません。終わるのを待って再度お試しください。",
    "Shopify's bulk operation {operation} ended {status} ({reason}).":
        "Shopifyの一括処理 {operation} が {status} で終了しました（{reason}）。",
    "no error code": "エラーコードなし",
    "Run the sync again; it starts a new bulk operation.":
        "もう一度同期してください。新しい一括処理を始めます。",
    "Cannot read the bulk result {file}: {problem}":
        "一括処理の結果 {file} を読めません（{problem}）。",
    "Run the sync again; it downloads a fresh result.":
        "もう一度同期してください。結果をダウンロードし直します。",
    "Shopify refused the bulk mutation: {detail}": "Shopifyが一括更新を拒否しました: {detail}",
    "Shopify refused the staged upload.": "Shopifyがファイルのアップロードを拒否しました。",
    "Shopify's segment language has no {what} (a segmentry extension).":
        "Shopifyのセグメント言語には {what} がありません（segmentry の拡張です）。",
    "Sync the segment as a tag instead, with “Also create a Shopify segment” ticked: Shopify "
    "then gets a segment on the tag.":
        "代わりにタグとして同期し、「Shopifyセグメントも作成する」にチェックを入れてください。"
        "Shopifyにそのタグのセグメントが作られます。",
    "Shopify refused the segment {segment!r}: {detail}":
        "Shopifyがセグメント「{segment}」を拒否しました: {detail}",
    "A Shopify segment with this name may exist already: rename or delete it in Shopify admin "
    "(Customers → Segments) and sync again.":
        "同じ名前のShopifyセグメントがすでにあるかもしれません。Shopify管理画面"
        "（顧客 → セグメント）で名前を変えるか削除して、もう一度同期してください。",
    "Tag {tag!r} is already managed for segment {owner!r}.":
        "タグ「{tag}」はすでにセグメント「{owner}」で管理されています。",
    "Each segment needs its own tag, e.g. seg-<segment name>.":
        "セグメントごとに別のタグが必要です（例: seg-<セグメント名>）。",
    "{carriers} customer(s) already carry the tag {tag!r}, which segmentry does not manage; "
    "syncing would remove it from those outside the segment.":
        "{carriers} 人の顧客に、segmentry が管理していないタグ「{tag}」がすでに付いています。"
        "同期するとセグメント外の顧客からこのタグが外れます。",
    "Choose a new tag (e.g. seg-…), or tick “Take over the tag if customers already carry it”.":
        "新しいタグ（例: seg-…）にするか、「既に顧客に付いているタグを引き継ぐ」に"
        "チェックを入れてください。",
    "Segment {segment!r} is not synced to a Shopify tag.":
        "セグメント「{segment}」はShopifyのタグと同期していません。",
    "Choose a tag in the Shopify tag sync section of the segment's page.":
        "セグメントのページの「Shopifyタグ連携」でタグを選んでください。",
    # --- sign-in (signin)
    "Too many failed sign-ins. Try again in {minutes} minute(s).":
        "サインインの失敗が続いたため、一時的に受け付けを停止しています。{minutes} 分後に"
        "もう一度お試しください。",
    "Wait, or ask an administrator to reset your password.":
        "しばらく待つか、管理者にパスワードの再設定を依頼してください。",
    "{email} is the shop's only user.": "{email} はこのショップの唯一のユーザーです。",
    "Add another user first.": "先に別のユーザーを追加してください。",
    "There is no live API token {token_id}.": "有効なAPIトークン {token_id} はありません。",
    "List them with `segmentry tokens list`.": "`segmentry tokens list` で一覧を確認できます。",
    "See your tokens on the Settings page.": "APIトークンは「設定」ページで確認できます。",
    "This request is too large.": "リクエストが大きすぎます。",
    "Send less data at once, or sign in first.":
        "一度に送るデータを減らすか、先にサインインしてください。",
}

# Hints that speak of the CLI, by their English template → what a web user can do instead
# (None: no hint; the builder offers the "did you mean" suggestion as a button).
WEB_HINTS: dict[str, str | None] = {
    "See `segmentry segments list`.": "Open the Segments page to see every segment.",
    "Run `segmentry run` for that day first.":
        "Press “Run now” on the Runs page, or wait for the daily run.",
    "Run `segmentry run`.": "Press “Run now” on the Runs page, or wait for the daily run.",
    "Run the daily pipeline first.": "Press “Run now” on the Runs page, or wait for the daily run.",
    "Wait for it to finish (see `segmentry runs`); nothing was changed.":
        "Wait for it to finish (see the Runs page); nothing was changed.",
    "DuckDB allows one writer: stop the other segmentry process (see `segmentry runs`) and "
    "try again.": "Another segmentry process is writing; wait for it to finish and try again.",
    "Add one with `segmentry users add EMAIL`.":
        "Ask the person who runs segmentry to add this user.",
    "Recompute history with `segmentry segments edit` or run a later day.":
        "Press “Recompute history” on the segment's page, or choose a later day.",
    "docs/segment-language.md lists every attribute.":
        "The condition picker lists the common attributes.",
    "Create a token with `segmentry tokens create EMAIL`.": "Create a token on the Settings page.",
    "did you mean {guess!r}?": None,
    "Use the new key {key!r} in addresses, commands and API calls.":
        "Its page is now at /segments/{key}.",
    # connectors, settings (src/segmentry/connectors, config.py)
    "The file is read as UTF-8 (its text is UTF-8). Correct or delete that byte (part of a "
    "damaged character), or, if the whole file is Shift_JIS, import it with --encoding cp932.":
        "The file is read as UTF-8 (its text is UTF-8). Correct or delete that byte (part of a "
        "damaged character), or, if the whole file is Shift_JIS, ask whoever set up segmentry "
        "to set encoding = 'cp932' for this source.",
    "The file is read as Shift_JIS (most of its text is not UTF-8). Save it as CSV UTF-8, or "
    "import it with --encoding utf-8 if it is UTF-8.":
        "The file is read as Shift_JIS (most of its text is not UTF-8). Save it as CSV UTF-8, or "
        "ask whoever set up segmentry to set encoding = 'utf-8' for this source if it is UTF-8.",
    "Check the --encoding option, or leave it out to have it chosen.":
        "Check the source's encoding setting (ask whoever set up segmentry), or remove it to "
        "have the encoding chosen from the file.",
    "Fix these rows, or import with --skip-bad-rows to load the other rows and write the "
    "rejected ones to a CSV file.": "Fix these rows in the file; the next run reads it again.",
    "Fix these rows, or import with --skip-bad-rows to load the other rows and write the "
    "rejected ones to a CSV file. If the file has one row per order line, import it with --rows "
    "line and map its line columns (sku, quantity, unit_price).":
        "Fix these rows in the file; the next run reads it again. If the file has one row per "
        "order line, ask whoever set up segmentry to mark this source as one row per order line "
        "(rows = 'line') and map its line columns (sku, quantity, unit_price).",
    "Columns are found by their header names: export the file again from the Shopify admin "
    "({page} → Export) and import it without editing its header row, or import it as a "
    "generic file with a mapping (--format generic --map canonical=file_column).":
        "Columns are found by their header names: export the file again from the Shopify admin "
        "({page} → Export) and keep its header row as it is; the next run reads it again.",
    "Map the file's columns with --map canonical=file_column (a source's `mapping` in "
    "segmentry.toml). The file's columns: {columns}.":
        "Name the file's columns in the source's mapping (ask whoever set up segmentry). "
        "The file's columns: {columns}.",
    "Map the file's columns with --map canonical=file_column (a source's `mapping` in "
    "segmentry.toml). The file's columns: {columns}. A file with one row per order and no line "
    "columns imports with --rows order (rows = 'order'), or without --rows: it is then "
    "detected.":
        "Name the file's columns in the source's mapping (ask whoever set up segmentry). "
        "The file's columns: {columns}. A file with one row per order and no line columns "
        "needs rows = 'order' on the source.",
    "Use --rows line (rows = 'line') for a file with one row per order line.":
        "Mark this source as one row per order line (rows = 'line') for a file with one row "
        "per order line.",
    "Create or reveal an Admin API access token (Shopify admin → Settings → Apps and sales "
    "channels → Develop apps → your app → API credentials), then run `segmentry connect "
    "shopify --shop {shop} --token …` again or set {env}.":
        "Create or reveal an Admin API access token in Shopify admin (Settings → Apps and sales "
        "channels → Develop apps → your app → API credentials), then enter it under Reconnect "
        "on the Settings page.",
    "Run `chmod 600 {path}`.":
        "Ask whoever runs segmentry to make {path} readable by its owner only.",
    "Set {env} or run `segmentry connect shopify --shop {shop} --token …`.":
        "Enter the access token for {shop} under Reconnect on the Settings page.",
    "Install it again and run `segmentry connect shopify` with the new token.":
        "Install the app again, then enter its new token under Reconnect on the Settings page.",
    "Pass --token or set {env}.": "Enter the access token under Reconnect on the Settings page.",
    "Run `segmentry connect shopify --shop NAME.myshopify.com --token …`.":
        "Connect the shop on the Settings page.",
    "Sync the segment as a tag instead: `segmentry segments sync NAME --tag seg-… "
    "--create-shopify-segment` makes a Shopify segment on the tag.":
        "Sync the segment as a tag instead, with “Also create a Shopify segment” ticked: "
        "Shopify then gets a segment on the tag.",
    "Choose a new tag (e.g. seg-…) or pass --adopt to let segmentry own it.":
        "Choose a new tag (e.g. seg-…), or tick “Take over the tag if customers already carry "
        "it”.",
    "Use `segmentry segments sync NAME --tag …`.":
        "Choose a tag in the Shopify tag sync section of the segment's page.",
    # --- sign-in (signin)
    "List them with `segmentry tokens list`.": "See your tokens on the Settings page.",
}
# An error whose template has no entry above (one from a plug-in, or a stored failure whose
# wording has since changed) still gives the reader the gist, by its code.
BY_CODE: dict[str, str] = {
    "invalid_token":
        "Shopifyがアクセストークンを受け付けませんでした（無効・取り消し・期限切れ）。",
    "missing_scopes": "アクセストークンに必要な権限（スコープ）がありません。",
    "access_denied": "Shopifyがアクセスを拒否しました。",
    "throttled": "Shopifyへのリクエストが制限されています。しばらくしてからお試しください。",
    "unavailable": "Shopifyに接続できません。しばらくしてからお試しください。",
    "graphql": "Shopifyがリクエストを受け付けませんでした。",
    "bulk_failed": "Shopifyの一括処理が失敗しました。",
    "uninstalled": "segmentry アプリがショップからアンインストールされています。",
    "not_connected": "このワークスペースはShopifyに接続されていません。",
    "clear_incomplete": "Shopifyが一部のタグ削除を拒否しました。",
    "segment_refused": "Shopifyがセグメントの作成を拒否しました。",
    "tag_taken": "このタグはすでに別のセグメントで使われています。",
    "tag_in_use": "このタグは segmentry の管理外の顧客にすでに付いています。",
    "not_bound": "このセグメントはShopifyのタグと連携していません。",
    "not_shopify_expressible": "この条件はShopifyのセグメント言語では表せません。",
    "secrets": "Shopifyの接続情報を読み取れません。",
    "secrets_permissions": "Shopifyの接続情報のファイルを他のユーザーが読める状態です。",
    "import": "ファイルを取り込めませんでした。",
    "config": "ワークスペースの設定に問題があります。",
    "workspace": "ワークスペースを開けません。",
    "engine": "分析データベースでエラーが発生しました。",
}
# A Japanese error whose template is missing above (a bug the tests look for) still reads Japanese.
_UNKNOWN_ERROR = "処理できませんでした（エラーコード: {code}）。"


def _error_words(lang: str) -> Callable[[str], str | None]:
    """Template → the web's text in ``lang`` (None: not in the catalogue)."""

    def translate(template: str) -> str | None:
        if template in WEB_HINTS and WEB_HINTS[template] is None:
            return None
        template = WEB_HINTS.get(template) or template
        if lang != "ja":
            return template
        return ERRORS.get(template) or JA.get(template)

    return translate


def error_text(error: SegmentryError, lang: str) -> tuple[str, str | None]:
    """The message and hint of ``error`` for a web user reading ``lang``.

    >>> e = SegmentryError("There is no segment named {name!r}.", code="unknown_segment",
    ...                    hint="See `segmentry segments list`.", params={"name": "vip"})
    >>> message, hint = error_text(e, "ja")
    >>> message
    '「vip」というセグメントはありません。'
    >>> hint
    '「セグメント」ページですべてのセグメントを確認できます。'
    >>> error_text(e, "en")
    ("There is no segment named 'vip'.", 'Open the Segments page to see every segment.')
    """
    translate = _error_words(lang)
    message = _shown(error.template, error, translate)
    if message is None:
        message = BY_CODE.get(error.code) or _UNKNOWN_ERROR.format(code=error.code)
    return message, _shown(error.hint_template, error, translate)


def _shown(template: str | None, error: SegmentryError,
           translate: Callable[[str], str | None]) -> str | None:
    """``template`` filled in with the error's params in the reader's language (None: no
    template, or none in that language; a missing hint is left out rather than shown in
    English)."""
    if template is None or translate(template) is None:
        return None
    if error.params:
        return Text(template, error.params).render(translate)
    return translate(template)


def error_body(error: SegmentryError, lang: str) -> dict[str, object]:
    """``error.to_dict()`` (the API's error shape) with its message and hint in ``lang``."""
    body = error.to_dict()
    body["message"], body["hint"] = error_text(error, lang)
    return body


def stored_error_body(record: object, lang: str) -> dict[str, object] | None:
    """A failure kept with :func:`segmentry.core.errors.error_record` (a run's, a job's) as
    :func:`error_body` in ``lang``; None when ``record`` (a mapping or an object with those
    fields) kept none, e.g. a row stored by an older release, which has its English text only.

    >>> record = {"error_code": "writes_refused", "error_params": '{"failed": 2}',
    ...           "error_template": "{failed} write(s) refused by Shopify"}
    >>> stored_error_body(record, "ja")["message"]
    'Shopifyが 2 件の書き込みを拒否しました。'
    """
    fields = record if isinstance(record, Mapping) else {
        name: getattr(record, name, None) for name in ERROR_FIELDS}
    error = stored_error(fields)
    return None if error is None else error_body(error, lang)
