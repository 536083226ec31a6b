#include "agent/discovery/ascend/dcmi_backend.h"

#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "agent/discovery/ascend/dcmi_abi.h"
#include "agent/discovery/ascend/dcmi_api.h"
#include "agent/sku/sku_names.h"
#include "common/dynamic_library.h"
#include "common/log.h"
#include "common/strings.h"

namespace zhisuan::agent::ascend {
namespace {

constexpr uint16_t kHuaweiPciVendor = 0x19e5;
// Error codes read per chip per poll; DCMI reports a handful at most.
constexpr unsigned int kMaxErrorCodes = 128;

// A fixed-size byte array from DCMI, up to its first NUL and never past its end.
template <size_t N>
std::string BoundedString(const unsigned char (&buffer)[N]) {
  size_t length = 0;
  while (length < N && buffer[length] != 0) ++length;
  return std::string(reinterpret_cast<const char*>(buffer), length);
}

char Hex(unsigned value) { return "0123456789abcdef"[value & 0xf]; }

std::string HexDigits(unsigned value, int digits) {
  std::string out;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(Hex(value >> shift));
  return out;
}

// Where a chip lives in DCMI's addressing.
struct ChipAddress {
  int card_id = 0;
  int device_id = 0;
};

// The health a chip last reported, to report changes rather than every poll.
struct ObservedHealth {
  unsigned int health = DCMI_HEALTH_OK;
  std::vector<unsigned int> error_codes;
  friend bool operator==(const ObservedHealth&, const ObservedHealth&) = default;
};

class DcmiBackend final : public DiscoveryBackend {
 public:
  explicit DcmiBackend(std::string library_path) : library_path_(std::move(library_path)) {}
  // An injected table: no library is loaded, and `library_path_` only names the source in logs.
  explicit DcmiBackend(const DcmiApi& api)
      : library_path_("<injected DCMI table>"), api_(api), api_injected_(true) {}

  std::string_view Name() const override { return "dcmi"; }
  std::string StandIn() const override { return api_.stand_in != nullptr ? api_.stand_in : ""; }

  StatusOr<std::vector<Accelerator>> Discover() override {
    std::lock_guard<std::mutex> lock(mu_);
    ZHISUAN_RETURN_IF_ERROR(LoadAndInit());
    int card_count = 0;
    int cards[DCMI_MAX_CARD_NUM] = {};
    if (int rc = api_.card_num_list(&card_count, cards, DCMI_MAX_CARD_NUM); rc != DCMI_OK) {
      return InternalError(StrCat("DCMI: dcmi_get_card_num_list failed: ", rc));
    }
    if (card_count < 0 || card_count > DCMI_MAX_CARD_NUM) {
      return InternalError(StrCat("DCMI: implausible card count ", card_count));
    }
    chips_.clear();
    std::vector<Accelerator> accelerators;
    for (int c = 0; c < card_count; ++c) {
      int devices = 0;
      if (int rc = api_.device_num_in_card(cards[c], &devices);
          rc != DCMI_OK || devices < 0 || devices > 64) {
        ZLOG(Warning) << "DCMI: skipping card " << cards[c] << ": dcmi_get_device_num_in_card "
                      << rc;
        continue;
      }
      for (int device = 0; device < devices; ++device) {
        StatusOr<Accelerator> accelerator = DescribeChip({cards[c], device});
        if (!accelerator.ok()) {
          ZLOG(Warning) << "DCMI: skipping card " << cards[c] << " chip " << device << ": "
                        << accelerator.status();
          continue;
        }
        accelerators.push_back(*std::move(accelerator));
      }
    }
    return accelerators;
  }

  StatusOr<DeviceTelemetry> Sample(const Accelerator& accelerator) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = chips_.find(accelerator.uuid);
    if (it == chips_.end()) return NotFoundError(StrCat("DCMI: no chip ", accelerator.uuid));
    const ChipAddress chip = it->second;
    DeviceTelemetry telemetry;
    unsigned int percent = 0;
    if (api_.utilization != nullptr &&
        Ok("dcmi_get_device_utilization_rate",
           api_.utilization(chip.card_id, chip.device_id, DCMI_UTILIZATION_AICORE, &percent)) &&
        percent <= 100) {
      telemetry.utilization_ratio = percent / 100.0;
    }
    dcmi_hbm_info hbm{};
    if (api_.hbm != nullptr &&
        Ok("dcmi_get_device_hbm_info", api_.hbm(chip.card_id, chip.device_id, &hbm))) {
      telemetry.memory_used_bytes = static_cast<double>(hbm.memory_usage) * 1024.0 * 1024.0;
    }
    int decawatts = 0;
    if (api_.power != nullptr &&
        Ok("dcmi_get_device_power_info", api_.power(chip.card_id, chip.device_id, &decawatts)) &&
        decawatts >= 0) {
      telemetry.power_watts = decawatts / 10.0;
    }
    int celsius = 0;
    if (api_.temperature != nullptr &&
        Ok("dcmi_get_device_temperature",
           api_.temperature(chip.card_id, chip.device_id, &celsius))) {
      telemetry.temperature_celsius = celsius;
    }
    unsigned int mhz = 0;
    if (api_.frequency != nullptr &&
        Ok("dcmi_get_device_frequency",
           api_.frequency(chip.card_id, chip.device_id, DCMI_FREQ_AICORE_CURRENT, &mhz))) {
      telemetry.clock_mhz = mhz;
    }
    return telemetry;
  }

  std::vector<HealthEvent> DrainHealthEvents() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<HealthEvent> events;
    if (api_.health == nullptr) return events;
    for (const auto& [uuid, chip] : chips_) {
      ObservedHealth now;
      if (!Ok("dcmi_get_device_health", api_.health(chip.card_id, chip.device_id, &now.health))) {
        continue;
      }
      if (now.health != DCMI_HEALTH_OK && api_.error_codes != nullptr) {
        int count = 0;
        unsigned int codes[kMaxErrorCodes] = {};
        if (Ok("dcmi_get_device_errorcode_v2",
               api_.error_codes(chip.card_id, chip.device_id, &count, codes, kMaxErrorCodes))) {
          const int kept = std::min<int>(std::max(count, 0), static_cast<int>(kMaxErrorCodes));
          now.error_codes.assign(codes, codes + kept);
        }
      }
      ObservedHealth& before = observed_[uuid];
      if (now == before) continue;
      before = now;
      if (now.health == DCMI_HEALTH_OK) continue;  // recovered: nothing to report
      const std::string detail =
          StrCat("DCMI health ", now.health, " error codes [", StrJoin(now.error_codes, ","), "]");
      if (now.error_codes.empty()) {
        events.push_back({uuid, HealthEvent::Kind::kVendorHealthCode, 0, detail});
      }
      for (unsigned int code : now.error_codes) {
        events.push_back({uuid, HealthEvent::Kind::kVendorHealthCode, code, detail});
      }
    }
    return events;
  }

 private:
  Status LoadAndInit() {
    if (initialized_) return OkStatus();
    if (!library_ && !api_injected_) {
      StatusOr<DynamicLibrary> library = DynamicLibrary::Open(library_path_);
      if (!library.ok()) {
        return UnavailableError(StrCat("DCMI not available (no Ascend driver on this node?): ",
                                       library.status().message()));
      }
      library_.emplace(*std::move(library));
      api_ = DcmiApi::Resolve(*library_);
    }
    if (const char* missing = api_.MissingRequired()) {
      return UnavailableError(
          StrCat("DCMI library ", library_path_, " is too old: it lacks ", missing));
    }
    if (int rc = api_.init(); rc != DCMI_OK) {
      return UnavailableError(StrCat("DCMI: dcmi_init failed: ", rc));
    }
    initialized_ = true;
    return OkStatus();
  }

  StatusOr<Accelerator> DescribeChip(ChipAddress chip) {
    int logic_id = -1;
    if (int rc = api_.logic_id(&logic_id, chip.card_id, chip.device_id); rc != DCMI_OK) {
      return InternalError(StrCat("dcmi_get_device_logic_id failed: ", rc));
    }
    if (logic_id < 0) return InternalError(StrCat("negative logic id ", logic_id));
    Accelerator accelerator;
    accelerator.index = logic_id;
    accelerator.vendor = Vendor::kHuawei;
    accelerator.backend = "dcmi";
    accelerator.architecture = "davinci";

    dcmi_chip_info chip_info{};
    if (api_.chip_info != nullptr &&
        Ok("dcmi_get_device_chip_info", api_.chip_info(chip.card_id, chip.device_id, &chip_info))) {
      const std::string type = BoundedString(chip_info.chip_type);
      const std::string name = BoundedString(chip_info.chip_name);
      accelerator.vendor_product_name = StrJoin(std::vector<std::string>{type, name}, " ");
      accelerator.product = AscendProductName(name);
      accelerator.compute_units = static_cast<int>(std::min(chip_info.aicore_cnt, 100000U));
    }

    dcmi_pcie_info_all pcie{};
    if (api_.pcie_info != nullptr &&
        Ok("dcmi_get_device_pcie_info_v2", api_.pcie_info(chip.card_id, chip.device_id, &pcie)) &&
        pcie.domain >= 0 && pcie.domain <= 0xffff && pcie.bdf_busid <= 0xff &&
        pcie.bdf_deviceid <= 0x1f && pcie.bdf_funcid <= 0x7) {
      accelerator.pci_bus_id = StrCat(
          HexDigits(static_cast<unsigned>(pcie.domain), 4), ":", HexDigits(pcie.bdf_busid, 2), ":",
          HexDigits(pcie.bdf_deviceid, 2), ".", HexDigits(pcie.bdf_funcid, 1));
      accelerator.pci_vendor_id = static_cast<uint16_t>(pcie.venderid & 0xffff);
      accelerator.pci_device_id = static_cast<uint16_t>(pcie.deviceid & 0xffff);
      if (auto canonical =
              CanonicalProductName(accelerator.pci_vendor_id, accelerator.pci_device_id)) {
        accelerator.product = std::string(*canonical);
      }
    }
    if (accelerator.product.empty()) {
      accelerator.product = ProductNameOrFallback(
          accelerator.pci_vendor_id != 0 ? accelerator.pci_vendor_id : kHuaweiPciVendor,
          accelerator.pci_device_id);
    }
    accelerator.uuid = accelerator.pci_bus_id.empty() ? StrCat("ascend-", logic_id)
                                                      : StrCat("pci-", accelerator.pci_bus_id);

    dcmi_hbm_info hbm{};
    if (api_.hbm != nullptr &&
        Ok("dcmi_get_device_hbm_info", api_.hbm(chip.card_id, chip.device_id, &hbm)) &&
        hbm.memory_size < (1ULL << 40)) {
      accelerator.memory_bytes = hbm.memory_size * 1024ULL * 1024ULL;
    }
    unsigned int max_mhz = 0;
    if (api_.frequency != nullptr &&
        Ok("dcmi_get_device_frequency",
           api_.frequency(chip.card_id, chip.device_id, DCMI_FREQ_AICORE_MAX, &max_mhz))) {
      accelerator.max_clock_mhz = max_mhz;
    }
    accelerator.device_nodes = {StrCat("/dev/davinci", logic_id), "/dev/davinci_manager",
                                "/dev/devmm_svm", "/dev/hisi_hdc"};
    chips_[accelerator.uuid] = chip;
    return accelerator;
  }

  // True on DCMI_OK; unsupported readings are silently absent, other failures warned about once.
  bool Ok(std::string_view function, int rc) {
    if (rc == DCMI_OK) return true;
    if (rc != DCMI_ERROR_NOT_SUPPORT && warned_.emplace(StrCat(function, "/", rc), true).second) {
      ZLOG(Warning) << "DCMI: " << function << " failed: " << rc << "; the reading is left out";
    }
    return false;
  }

  std::string library_path_;
  std::mutex mu_;
  std::optional<DynamicLibrary> library_;  // declared before the state that calls into it
  DcmiApi api_;
  bool api_injected_ = false;
  bool initialized_ = false;
  std::map<std::string, ChipAddress> chips_;
  std::map<std::string, ObservedHealth> observed_;
  std::map<std::string, bool> warned_;
};

}  // namespace

std::string AscendProductName(std::string_view chip_name) {
  std::string_view name = chip_name;
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  if (StartsWith(name, "Ascend") || StartsWith(name, "ascend")) return LabelSafe(name);
  return LabelSafe(StrCat("Ascend", name));
}

DiscoveryBackendPtr MakeDcmiBackend(std::string library_path) {
  return std::make_unique<DcmiBackend>(std::move(library_path));
}

DiscoveryBackendPtr MakeDcmiBackend(const DcmiApi& api) {
  return std::make_unique<DcmiBackend>(api);
}

}  // namespace zhisuan::agent::ascend
