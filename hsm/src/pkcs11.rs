//! Keys on a PKCS#11 token, through cryptoki.
//!
//! Tokens are selected by label, never by slot number (SoftHSM moves a token to a new slot when
//! it is initialised); keys by label. Keys are generated on the token with `CKA_TOKEN`,
//! `CKA_PRIVATE` and `CKA_SENSITIVE` true and `CKA_EXTRACTABLE` false, so the private key never
//! exists outside it. ECDSA is done as SoftHSM2 offers it, raw `CKM_ECDSA` over a host-side hash,
//! and the `r‖s` result is DER-encoded here.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use ring::rand::SecureRandom;

use crate::encoding::{
    ec_point_from_attribute, ec_spki, ecdsa_raw_to_der, key_type_from_ec_params, rsa_public_key,
    rsa_spki, SHA256_DIGEST_INFO_PREFIX,
};
use crate::{HsmError, KeyType, PinSource, PublicKey, Signer};

/// Which token, in which module, and where its user PIN comes from.
#[derive(Clone, Debug)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so` for SoftHSM2).
    pub module: PathBuf,
    /// The token's label (`CKA_LABEL` of the token, as `pkcs11-tool -L` shows it).
    pub token_label: String,
    /// Where to read the user PIN.
    pub pin: PinSource,
}

/// How RSA keys sign. `CKM_SHA256_RSA_PKCS` lets the token hash; `CKM_RSA_PKCS` signs a
/// host-built DigestInfo, for tokens that only have the raw mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaMechanism {
    /// `CKM_SHA256_RSA_PKCS`.
    Sha256RsaPkcs,
    /// `CKM_RSA_PKCS` over DigestInfo ‖ SHA-256 (51 bytes).
    RsaPkcsDigestInfo,
}

/// The security attributes of a private key, as the token reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAttributes {
    /// `CKA_TOKEN`: stored on the token, not a session object.
    pub token: bool,
    /// `CKA_PRIVATE`: only visible after login.
    pub private: bool,
    /// `CKA_SENSITIVE`: the value can never be read in plaintext.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the value could be wrapped out.
    pub extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`.
    pub always_sensitive: bool,
    /// `CKA_NEVER_EXTRACTABLE`.
    pub never_extractable: bool,
}

/// One process may initialise a module once (`C_Initialize` twice fails), so loaded modules
/// are shared by path.
fn module(path: &Path) -> Result<Pkcs11, HsmError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let module_err = |reason: String| HsmError::Module {
        path: path.display().to_string(),
        reason,
    };
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| module_err("module table poisoned".into()))?;
    if let Some(ctx) = modules.get(path) {
        return Ok(ctx.clone());
    }
    if !path.exists() {
        return Err(module_err(
            "no such file (install softhsm2, or pass the right --module)".into(),
        ));
    }
    let ctx = Pkcs11::new(path).map_err(|e| module_err(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(e.to_string())),
    }
    modules.insert(path.to_path_buf(), ctx.clone());
    Ok(ctx)
}

struct TokenInner {
    label: String,
    serial: String,
    /// Whether the token offers `CKM_SHA256_RSA_PKCS`.
    sha256_rsa: bool,
    /// cryptoki sessions are `Send` but not `Sync`: one session, one signer at a time.
    session: Mutex<Session>,
}

impl TokenInner {
    fn with_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, HsmError>,
    ) -> Result<T, HsmError> {
        let session = self.session.lock().map_err(|_| HsmError::Pkcs11 {
            op: "session",
            reason: "session lock poisoned".into(),
        })?;
        f(&session)
    }
}

/// A logged-in session on one token.
#[derive(Clone)]
pub struct Pkcs11Token {
    inner: Arc<TokenInner>,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("label", &self.inner.label)
            .field("serial", &self.inner.serial)
            .finish()
    }
}

fn find_slot(ctx: &Pkcs11, label: &str) -> Result<(Slot, String), HsmError> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(HsmError::pkcs11("C_GetSlotList"))?;
    let mut available = Vec::new();
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(HsmError::pkcs11("C_GetTokenInfo"))?;
        if info.label().trim_end() == label {
            return Ok((slot, info.serial_number().trim_end().to_string()));
        }
        available.push(info.label().trim_end().to_string());
    }
    Err(HsmError::TokenNotFound {
        label: label.to_string(),
        available,
    })
}

impl Pkcs11Token {
    /// Opens the token named by `config` and logs in as the user.
    pub fn open(config: &Pkcs11Config) -> Result<Self, HsmError> {
        let ctx = module(&config.module)?;
        let (slot, serial) = find_slot(&ctx, &config.token_label)?;
        let pin = config.pin.read()?;
        // Ask about the one optional mechanism rather than listing them all: cryptoki logs an
        // error for every vendor mechanism it does not know.
        let sha256_rsa = ctx
            .get_mechanism_info(slot, MechanismType::SHA256_RSA_PKCS)
            .is_ok();
        let session = ctx
            .open_rw_session(slot)
            .map_err(HsmError::pkcs11("C_OpenSession"))?;
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                return Err(HsmError::Login {
                    token: config.token_label.clone(),
                    reason: format!("wrong PIN (from {})", config.pin.describe()),
                })
            }
            Err(e) => {
                return Err(HsmError::Login {
                    token: config.token_label.clone(),
                    reason: e.to_string(),
                })
            }
        }
        // The PIN is dropped (and zeroised by secrecy) at the end of this function; it is
        // never kept.
        Ok(Self {
            inner: Arc::new(TokenInner {
                label: config.token_label.clone(),
                serial,
                sha256_rsa,
                session: Mutex::new(session),
            }),
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// The token's serial number, as recorded in ceremony transcripts.
    pub fn serial(&self) -> &str {
        &self.inner.serial
    }

    fn find_private(
        &self,
        session: &Session,
        label: &str,
    ) -> Result<Option<ObjectHandle>, HsmError> {
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(HsmError::pkcs11("C_FindObjects"))?;
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(HsmError::Encoding(format!(
                "{} private keys are labelled {label:?}",
                found.len()
            ))),
        }
    }

    /// Generates a key pair on the token. The private key is sensitive and non-extractable.
    /// Refuses if a private key with this label exists.
    pub fn generate(&self, label: &str, key_type: KeyType) -> Result<Pkcs11Key, HsmError> {
        let mut id = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut id)
            .map_err(|_| HsmError::Software("no randomness for CKA_ID".into()))?;
        let common = |private: bool| {
            vec![
                Attribute::Token(true),
                Attribute::Private(private),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
            ]
        };
        let mut public_template = common(false);
        public_template.push(Attribute::Verify(true));
        let mut private_template = common(true);
        private_template.extend([
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Derive(false),
            Attribute::Unwrap(false),
        ]);
        let mechanism = if let Some(params) = key_type.ec_params() {
            public_template.push(Attribute::EcParams(params.to_vec()));
            Mechanism::EccKeyPairGen
        } else {
            let bits = key_type.rsa_bits().unwrap_or(3072);
            public_template.push(Attribute::ModulusBits(bits.into()));
            public_template.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
            Mechanism::RsaPkcsKeyPairGen
        };
        let (public, private) = self.inner.with_session(|s| {
            if self.find_private(s, label)?.is_some() {
                return Err(HsmError::KeyExists {
                    label: label.to_string(),
                });
            }
            s.generate_key_pair(&mechanism, &public_template, &private_template)
                .map_err(HsmError::pkcs11("C_GenerateKeyPair"))
        })?;
        self.load(label, public, private)
    }

    /// Finds an existing key pair by label.
    pub fn find(&self, label: &str) -> Result<Pkcs11Key, HsmError> {
        let (public, private) = self.inner.with_session(|s| {
            let private = self
                .find_private(s, label)?
                .ok_or_else(|| HsmError::KeyNotFound {
                    label: label.to_string(),
                })?;
            let id = match s
                .get_attributes(private, &[AttributeType::Id])
                .map_err(HsmError::pkcs11("C_GetAttributeValue"))?
                .pop()
            {
                Some(Attribute::Id(id)) => id,
                _ => return Err(HsmError::Encoding(format!("key {label:?} has no CKA_ID"))),
            };
            let public = s
                .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::Id(id)])
                .map_err(HsmError::pkcs11("C_FindObjects"))?
                .first()
                .copied()
                .ok_or_else(|| {
                    HsmError::Encoding(format!(
                        "key {label:?} has no public key object with its CKA_ID"
                    ))
                })?;
            Ok((public, private))
        })?;
        self.load(label, public, private)
    }

    fn load(
        &self,
        label: &str,
        public: ObjectHandle,
        private: ObjectHandle,
    ) -> Result<Pkcs11Key, HsmError> {
        let public = self.inner.with_session(|s| read_public_key(s, public))?;
        let rsa_mechanism = if self.inner.sha256_rsa {
            RsaMechanism::Sha256RsaPkcs
        } else {
            RsaMechanism::RsaPkcsDigestInfo
        };
        Ok(Pkcs11Key {
            token: self.clone(),
            label: label.to_string(),
            handle: private,
            public,
            rsa_mechanism,
        })
    }
}

fn read_public_key(s: &Session, handle: ObjectHandle) -> Result<PublicKey, HsmError> {
    let attrs = |types: &[AttributeType]| {
        s.get_attributes(handle, types)
            .map_err(HsmError::pkcs11("C_GetAttributeValue"))
    };
    let ck_type = match attrs(&[AttributeType::KeyType])?.pop() {
        Some(Attribute::KeyType(t)) => t,
        _ => return Err(HsmError::Encoding("public key without CKA_KEY_TYPE".into())),
    };
    if ck_type == CkKeyType::EC {
        let mut params = None;
        let mut point = None;
        for a in attrs(&[AttributeType::EcParams, AttributeType::EcPoint])? {
            match a {
                Attribute::EcParams(p) => params = Some(p),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        let (Some(params), Some(point)) = (params, point) else {
            return Err(HsmError::Encoding(
                "EC public key without CKA_EC_PARAMS/CKA_EC_POINT".into(),
            ));
        };
        let key_type = key_type_from_ec_params(&params)?;
        let bits = ec_point_from_attribute(key_type, &point)?;
        Ok(PublicKey {
            key_type,
            spki_der: ec_spki(key_type, &bits)?,
            bits,
        })
    } else if ck_type == CkKeyType::RSA {
        let mut modulus = None;
        let mut exponent = None;
        for a in attrs(&[AttributeType::Modulus, AttributeType::PublicExponent])? {
            match a {
                Attribute::Modulus(m) => modulus = Some(m),
                Attribute::PublicExponent(e) => exponent = Some(e),
                _ => {}
            }
        }
        let (Some(modulus), Some(exponent)) = (modulus, exponent) else {
            return Err(HsmError::Encoding(
                "RSA public key without modulus/exponent".into(),
            ));
        };
        let bits_len = modulus.iter().skip_while(|b| **b == 0).count() * 8;
        let key_type = match bits_len {
            3072 => KeyType::Rsa3072,
            4096 => KeyType::Rsa4096,
            n => return Err(HsmError::Unsupported(format!("RSA-{n} keys"))),
        };
        let bits = rsa_public_key(&modulus, &exponent);
        Ok(PublicKey {
            key_type,
            spki_der: rsa_spki(&bits),
            bits,
        })
    } else {
        Err(HsmError::Unsupported(format!("PKCS#11 key type {ck_type}")))
    }
}

/// A private key on a PKCS#11 token.
#[derive(Clone)]
pub struct Pkcs11Key {
    token: Pkcs11Token,
    label: String,
    handle: ObjectHandle,
    public: PublicKey,
    rsa_mechanism: RsaMechanism,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token.inner.label)
            .field("label", &self.label)
            .field("key_type", &self.public.key_type)
            .finish()
    }
}

impl Pkcs11Key {
    /// The key's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token it lives on.
    pub fn token(&self) -> &Pkcs11Token {
        &self.token
    }

    /// Chooses the RSA mechanism explicitly (the default is `CKM_SHA256_RSA_PKCS` where the
    /// token has it).
    pub fn with_rsa_mechanism(mut self, mechanism: RsaMechanism) -> Self {
        self.rsa_mechanism = mechanism;
        self
    }

    /// Reads the private key's security attributes from the token.
    pub fn attributes(&self) -> Result<KeyAttributes, HsmError> {
        let attrs = self.token.inner.with_session(|s| {
            s.get_attributes(
                self.handle,
                &[
                    AttributeType::Token,
                    AttributeType::Private,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::NeverExtractable,
                ],
            )
            .map_err(HsmError::pkcs11("C_GetAttributeValue"))
        })?;
        let mut out = KeyAttributes {
            token: false,
            private: false,
            sensitive: false,
            extractable: true,
            always_sensitive: false,
            never_extractable: false,
        };
        for a in attrs {
            match a {
                Attribute::Token(v) => out.token = v,
                Attribute::Private(v) => out.private = v,
                Attribute::Sensitive(v) => out.sensitive = v,
                Attribute::Extractable(v) => out.extractable = v,
                Attribute::AlwaysSensitive(v) => out.always_sensitive = v,
                Attribute::NeverExtractable(v) => out.never_extractable = v,
                _ => {}
            }
        }
        Ok(out)
    }
}

impl Signer for Pkcs11Key {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, HsmError> {
        let key_type = self.public.key_type;
        let digest = ring::digest::digest(key_type.digest(), msg);
        self.token.inner.with_session(|s| {
            if key_type.is_ec() {
                let raw = s
                    .sign(&Mechanism::Ecdsa, self.handle, digest.as_ref())
                    .map_err(HsmError::pkcs11("C_Sign (CKM_ECDSA)"))?;
                ecdsa_raw_to_der(key_type, &raw)
            } else {
                match self.rsa_mechanism {
                    RsaMechanism::Sha256RsaPkcs => s
                        .sign(&Mechanism::Sha256RsaPkcs, self.handle, msg)
                        .map_err(HsmError::pkcs11("C_Sign (CKM_SHA256_RSA_PKCS)")),
                    RsaMechanism::RsaPkcsDigestInfo => {
                        let mut info = SHA256_DIGEST_INFO_PREFIX.to_vec();
                        info.extend_from_slice(digest.as_ref());
                        s.sign(&Mechanism::RsaPkcs, self.handle, &info)
                            .map_err(HsmError::pkcs11("C_Sign (CKM_RSA_PKCS)"))
                    }
                }
            }
        })
    }
}
