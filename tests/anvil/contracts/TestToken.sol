// SPDX-License-Identifier: MIT
// A minimal ERC-20 for the tests against a real anvil node (tests/anvil). Not for production:
// no overflow-free tricks, no permit, no hooks; just the events and state the ingestion reads.
//
// Compiled by tests/anvil/contracts/build.py (solc from the npm registry); the ABI and
// bytecode it produced are committed beside this file in TestToken.json.
pragma solidity 0.8.37;

/// The ERC-721 Transfer: the same signature, hence the same topic0, as ERC-20's, but with the
/// token id indexed, so its logs carry four topics and no data. The ingestion must skip them.
interface IERC721Events {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
}

contract TestToken {
    string public constant name = "Tokenpulse Test Token";
    string public constant symbol = "TPT";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint256 supply) {
        _mint(msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= value, "allowance");
        if (allowed != type(uint256).max) {
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    /// Several Transfer events in one transaction: distinct log indexes, one tx hash.
    function batchTransfer(address[] calldata to, uint256[] calldata amounts) external returns (bool) {
        require(to.length == amounts.length, "length");
        for (uint256 i = 0; i < to.length; i++) {
            _transfer(msg.sender, to[i], amounts[i]);
        }
        return true;
    }

    /// Emits an ERC-721-style Transfer (four topics) from this contract's address, moving no
    /// balance: the shape an NFT contract sharing the ERC-20 topic0 would produce.
    function nftTransfer(address to, uint256 tokenId) external {
        emit IERC721Events.Transfer(msg.sender, to, tokenId);
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }

    function _mint(address to, uint256 value) internal {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }
}
