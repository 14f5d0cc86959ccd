"""The console's sign-in (ConsoleAdminEmail set) in moto's cognito-idp, for setup.py.

The template's user pool, app client and first user are created from their properties, as
CloudFormation would. moto keeps but never enforces some of them (the client's auth flows and
secret, self sign-up off): infra/tests/console-sign-in.test.mjs holds those. Two differences:
- CloudFormation's AWS::Cognito::UserPoolUser cannot set a temporary password (Cognito
  e-mails one), and moto's AdminCreateUser without one makes a user who can never sign in.
  So the local admin gets a generated temporary password (written to local.env, printed by
  `scripts/local-stack up`), and no e-mail is sent (moto sends none anyway).
- The JWKS: the template's ConsoleJwksUrl output names AWS's host; moto serves the keys at
  {endpoint}/{pool id}/.well-known/jwks.json (one static key, "kid": "dummy", for every pool),
  written to local.env as LOCAL_CONSOLE_JWKS_URL. The tokens' `iss` is AWS's form (the
  ConsoleIssuer output), as on AWS.
"""

import secrets

POOL = "AWS::Cognito::UserPool"
CLIENT = "AWS::Cognito::UserPoolClient"
USER = "AWS::Cognito::UserPoolUser"
TYPES = (POOL, CLIENT, USER)


def temporary_password():
    """Meets the template's policy whatever the random part: 12+ characters, upper, lower,
    number (and a symbol, which the policy allows)."""
    return f"{secrets.token_urlsafe(18)}Aa1!"


def create_user_pool(aws, r, logical, props, take, log):
    take(props, {"UserPoolName", "AdminCreateUserConfig", "UsernameAttributes",
                 "UsernameConfiguration", "AutoVerifiedAttributes", "Policies",
                 "MfaConfiguration", "EnabledMfas", "AccountRecoverySetting",
                 "DeletionProtection", "UserPoolTags"}, logical)
    props = r.resolve(props)
    request = {key: value for key, value in props.items()
               if key not in ("UserPoolName", "EnabledMfas")}
    pool = aws["cognito-idp"].create_user_pool(PoolName=props["UserPoolName"], **request)["UserPool"]
    # EnabledMfas is not a CreateUserPool field: the API sets TOTP with SetUserPoolMfaConfig.
    enabled = set(props.get("EnabledMfas", []))
    if enabled - {"SOFTWARE_TOKEN_MFA"}:
        raise SystemExit(f"setup: {logical}: EnabledMfas {sorted(enabled)}: only TOTP is emulated")
    if enabled:
        aws["cognito-idp"].set_user_pool_mfa_config(
            UserPoolId=pool["Id"], MfaConfiguration=props.get("MfaConfiguration", "OFF"),
            SoftwareTokenMfaConfiguration={"Enabled": True})
    r.refs[logical] = pool["Id"]
    r.attrs[(logical, "Arn")] = pool["Arn"]
    log(f"user pool {pool['Id']} (MFA {props.get('MfaConfiguration', 'OFF')}, "
        f"sign-up {'admin only' if props['AdminCreateUserConfig']['AllowAdminCreateUserOnly'] else 'open'})")


def create_user_pool_client(aws, r, logical, props, take, log):
    take(props, {"ClientName", "UserPoolId", "GenerateSecret", "ExplicitAuthFlows",
                 "PreventUserExistenceErrors", "EnableTokenRevocation", "AccessTokenValidity",
                 "IdTokenValidity", "RefreshTokenValidity", "TokenValidityUnits",
                 "AuthSessionValidity", "ReadAttributes"}, logical)
    props = r.resolve(props)
    client = aws["cognito-idp"].create_user_pool_client(**props)["UserPoolClient"]
    r.refs[logical] = client["ClientId"]
    log(f"user pool client {client['ClientId']} (auth flows {', '.join(props['ExplicitAuthFlows'])}; "
        "moto does not enforce them)")


def create_user(aws, r, logical, props, take, log):
    take(props, {"UserPoolId", "Username", "DesiredDeliveryMediums", "UserAttributes"}, logical)
    props = r.resolve(props)
    password = temporary_password()
    aws["cognito-idp"].admin_create_user(
        UserPoolId=props["UserPoolId"], Username=props["Username"],
        UserAttributes=props.get("UserAttributes", []), TemporaryPassword=password,
        MessageAction="SUPPRESS")
    r.refs[logical] = props["Username"]
    log(f"console user {props['Username']} (temporary password in local.env)")
    return {"email": props["Username"], "temporary_password": password}


def create_console(aws, r, by_type, resources, endpoint, take, log):
    """Creates the console's Cognito resources; returns local.env's lines (none without them)."""
    pools = by_type.get(POOL, [])
    if not pools:
        return {}
    if len(pools) != 1 or len(by_type.get(USER, [])) != 1:
        raise SystemExit("setup: the local stack emulates one console user pool with one user")
    create_user_pool(aws, r, pools[0], resources[pools[0]]["Properties"], take, log)
    for logical in by_type.get(CLIENT, []):
        create_user_pool_client(aws, r, logical, resources[logical]["Properties"], take, log)
    (user_logical,) = by_type[USER]
    admin = create_user(aws, r, user_logical, resources[user_logical]["Properties"], take, log)
    pool_id = r.refs[pools[0]]
    return {
        "LOCAL_CONSOLE_JWKS_URL": f"{endpoint}/{pool_id}/.well-known/jwks.json",
        "LOCAL_CONSOLE_ADMIN_EMAIL": admin["email"],
        "LOCAL_CONSOLE_ADMIN_TEMPORARY_PASSWORD": admin["temporary_password"],
    }
